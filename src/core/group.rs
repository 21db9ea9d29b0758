//! Process groups: ordered sets of processes, named by world rank. Evenly
//! spaced members (the whole world, one process, every other rank) take
//! constant space; any other order keeps a list. Communicators hold their
//! members as a group, so `MPI_Comm_group` shares it.

use super::error::{MpiError, MpiResult};
use super::types::MPI_Group;
use crate::core::consts::*;
use crate::handles::{Kind, Table};
use rustc_hash::FxHashSet;
use std::ffi::c_int;
use std::sync::{Arc, LazyLock};

#[derive(Debug, Clone)]
enum Ranks {
    /// `n` world ranks: `start`, `start + stride`, ...
    Strided {
        start: usize,
        stride: isize,
        n: usize,
    },
    List(Arc<[usize]>),
}

#[derive(Debug, Clone)]
pub struct Group {
    ranks: Ranks,
}

impl Group {
    pub fn strided(start: usize, stride: isize, n: usize) -> Group {
        Group {
            ranks: Ranks::Strided { start, stride, n },
        }
    }

    /// The members in this order; an arithmetic progression is stored as one.
    pub fn from_list(v: Vec<usize>) -> Group {
        let stride = match v.as_slice() {
            [] | [_] => 1,
            [a, b, ..] => *b as isize - *a as isize,
        };
        let even = v
            .windows(2)
            .all(|w| w[1] as isize - w[0] as isize == stride);
        if even && stride != 0 {
            Group::strided(v.first().copied().unwrap_or(0), stride, v.len())
        } else {
            Group {
                ranks: Ranks::List(v.into()),
            }
        }
    }

    pub fn size(&self) -> usize {
        match &self.ranks {
            Ranks::Strided { n, .. } => *n,
            Ranks::List(v) => v.len(),
        }
    }

    /// The world rank of member `i` (which the caller has checked).
    pub fn world(&self, i: usize) -> usize {
        match &self.ranks {
            Ranks::Strided { start, stride, .. } => {
                (*start as isize + i as isize * stride) as usize
            }
            Ranks::List(v) => v[i],
        }
    }

    /// The rank in this group of the process with world rank `w`.
    pub fn rank_of(&self, w: usize) -> Option<usize> {
        match &self.ranks {
            Ranks::Strided { start, stride, n } => {
                let d = w as isize - *start as isize;
                (d % stride == 0 && (0..*n as isize).contains(&(d / stride)))
                    .then_some((d / stride) as usize)
            }
            Ranks::List(v) => v.iter().position(|&x| x == w),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.size()).map(|i| self.world(i))
    }

    fn set(&self) -> FxHashSet<usize> {
        self.iter().collect()
    }

    /// `MPI_Group_union`: this group's members, then the other's not in it.
    pub fn union(&self, other: &Group) -> Group {
        let mine = self.set();
        let mut v: Vec<usize> = self.iter().collect();
        v.extend(other.iter().filter(|w| !mine.contains(w)));
        Group::from_list(v)
    }

    /// Members of this group that are (`keep`) or are not in `other`, in
    /// this group's order: intersection and difference.
    pub fn filter(&self, other: &Group, keep: bool) -> Group {
        let theirs = other.set();
        Group::from_list(self.iter().filter(|w| theirs.contains(w) == keep).collect())
    }

    fn check_rank(&self, r: c_int) -> MpiResult<usize> {
        if (0..self.size() as c_int).contains(&r) {
            Ok(r as usize)
        } else {
            Err(MpiError::new(
                MPI_ERR_RANK,
                format!("rank {r} is not in a group of {}", self.size()),
            ))
        }
    }

    /// Ranks given to `incl`/`excl`: valid and distinct.
    fn distinct(&self, ranks: &[c_int]) -> MpiResult<Vec<usize>> {
        let mut seen = FxHashSet::default();
        ranks
            .iter()
            .map(|&r| {
                let r = self.check_rank(r)?;
                if !seen.insert(r) {
                    return Err(MpiError::new(
                        MPI_ERR_RANK,
                        format!("rank {r} is named twice"),
                    ));
                }
                Ok(r)
            })
            .collect()
    }

    /// `MPI_Group_incl`.
    pub fn incl(&self, ranks: &[c_int]) -> MpiResult<Group> {
        let r = self.distinct(ranks)?;
        Ok(Group::from_list(
            r.into_iter().map(|i| self.world(i)).collect(),
        ))
    }

    /// `MPI_Group_excl`.
    pub fn excl(&self, ranks: &[c_int]) -> MpiResult<Group> {
        let out: FxHashSet<usize> = self.distinct(ranks)?.into_iter().collect();
        Ok(Group::from_list(
            (0..self.size())
                .filter(|i| !out.contains(i))
                .map(|i| self.world(i))
                .collect(),
        ))
    }

    /// The ranks `(first, last, stride)` triples name, in order.
    pub fn expand_ranges(&self, ranges: &[[c_int; 3]]) -> MpiResult<Vec<c_int>> {
        let mut v = Vec::new();
        for &[first, last, stride] in ranges {
            if stride == 0 {
                return Err(MpiError::arg("a rank range has stride 0"));
            }
            self.check_rank(first)?;
            self.check_rank(last)?;
            let mut r = first;
            while (stride > 0 && r <= last) || (stride < 0 && r >= last) {
                v.push(r);
                r += stride;
            }
        }
        Ok(v)
    }

    /// `MPI_Group_compare`.
    pub fn compare(&self, other: &Group) -> c_int {
        if self.size() == other.size() && self.iter().eq(other.iter()) {
            MPI_IDENT
        } else if self.size() == other.size() && self.set() == other.set() {
            MPI_SIMILAR
        } else {
            MPI_UNEQUAL
        }
    }

    /// `MPI_Group_translate_ranks` of one rank of this group into `other`.
    pub fn translate(&self, r: c_int, other: &Group) -> MpiResult<c_int> {
        if r == MPI_PROC_NULL {
            return Ok(MPI_PROC_NULL);
        }
        let w = self.world(self.check_rank(r)?);
        Ok(other.rank_of(w).map_or(MPI_UNDEFINED, |i| i as c_int))
    }
}

static EMPTY: LazyLock<Arc<Group>> = LazyLock::new(|| Arc::new(Group::strided(0, 1, 0)));
static GROUPS: Table<Group> = Table::new(Kind::Group);

/// The group behind a handle.
pub fn get(h: c_int) -> MpiResult<Arc<Group>> {
    if h == MPI_GROUP_EMPTY {
        return Ok(EMPTY.clone());
    }
    GROUPS.get(h).ok_or_else(|| {
        MpiError::new(
            MPI_ERR_GROUP,
            if h == MPI_GROUP_NULL {
                "MPI_GROUP_NULL is not a valid group here".to_string()
            } else {
                format!("invalid group 0x{h:x}")
            },
        )
    })
}

/// A handle for `g` (`MPI_GROUP_EMPTY` when it has no members, as MPICH).
pub fn handle(g: Arc<Group>) -> c_int {
    if g.size() == 0 {
        MPI_GROUP_EMPTY
    } else {
        GROUPS.insert(g)
    }
}

/// `MPI_Group_free`. Freeing `MPI_GROUP_EMPTY` is allowed, as in MPICH.
pub fn free(h: c_int) -> MpiResult<()> {
    get(h)?;
    if h != MPI_GROUP_EMPTY {
        GROUPS.remove(h);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The group calls (`scripts/gen-abi` binds them by their `doc(alias)`).

/// A count of array entries: negative is an error.
fn entries(n: c_int, what: &str) -> MpiResult<()> {
    if n < 0 {
        return Err(MpiError::arg(format!("negative count {n} of {what}")));
    }
    Ok(())
}

/// Store a new group's handle (`MPI_GROUP_NULL` first, so a failure leaves
/// no stale handle).
fn store(slot: &mut MPI_Group, make: impl FnOnce() -> MpiResult<Group>) -> MpiResult<()> {
    super::args::new_handle(slot, MPI_GROUP_NULL, || Ok(handle(Arc::new(make()?))))
}

#[doc(alias = "MPI_Group_size")]
pub fn group_size(group: MPI_Group, size: &mut c_int) -> MpiResult<()> {
    *size = get(group)?.size() as c_int;
    Ok(())
}

#[doc(alias = "MPI_Group_rank")]
pub fn group_rank(group: MPI_Group, rank: &mut c_int) -> MpiResult<()> {
    let me = super::runtime::job().rank as usize;
    *rank = get(group)?
        .rank_of(me)
        .map_or(MPI_UNDEFINED, |r| r as c_int);
    Ok(())
}

#[doc(alias = "MPI_Group_translate_ranks")]
pub fn group_translate_ranks(
    group1: MPI_Group,
    n: c_int,
    ranks1: &[c_int],
    group2: MPI_Group,
    ranks2: &mut [c_int],
) -> MpiResult<()> {
    let (a, b) = (get(group1)?, get(group2)?);
    entries(n, "ranks1")?;
    for (to, &r) in ranks2.iter_mut().zip(ranks1) {
        *to = a.translate(r, &b)?;
    }
    Ok(())
}

#[doc(alias = "MPI_Group_compare")]
pub fn group_compare(group1: MPI_Group, group2: MPI_Group, result: &mut c_int) -> MpiResult<()> {
    *result = get(group1)?.compare(&*get(group2)?);
    Ok(())
}

#[doc(alias = "MPI_Group_union")]
pub fn group_union(
    group1: MPI_Group,
    group2: MPI_Group,
    newgroup: &mut MPI_Group,
) -> MpiResult<()> {
    let (a, b) = (get(group1)?, get(group2)?);
    store(newgroup, || Ok(a.union(&b)))
}

#[doc(alias = "MPI_Group_intersection")]
pub fn group_intersection(
    group1: MPI_Group,
    group2: MPI_Group,
    newgroup: &mut MPI_Group,
) -> MpiResult<()> {
    let (a, b) = (get(group1)?, get(group2)?);
    store(newgroup, || Ok(a.filter(&b, true)))
}

#[doc(alias = "MPI_Group_difference")]
pub fn group_difference(
    group1: MPI_Group,
    group2: MPI_Group,
    newgroup: &mut MPI_Group,
) -> MpiResult<()> {
    let (a, b) = (get(group1)?, get(group2)?);
    store(newgroup, || Ok(a.filter(&b, false)))
}

#[doc(alias = "MPI_Group_incl")]
#[doc(alias = "MPI_Group_excl")]
pub fn group_incl(
    group: MPI_Group,
    n: c_int,
    ranks: &[c_int],
    newgroup: &mut MPI_Group,
    exclude: bool,
) -> MpiResult<()> {
    let g = get(group)?;
    entries(n, "ranks")?;
    store(newgroup, || {
        if exclude {
            g.excl(ranks)
        } else {
            g.incl(ranks)
        }
    })
}

#[doc(alias = "MPI_Group_range_incl")]
#[doc(alias = "MPI_Group_range_excl")]
pub fn group_range_incl(
    group: MPI_Group,
    n: c_int,
    ranges: &[[c_int; 3]],
    newgroup: &mut MPI_Group,
    exclude: bool,
) -> MpiResult<()> {
    let g = get(group)?;
    entries(n, "ranges")?;
    let ranks = g.expand_ranges(ranges)?;
    store(newgroup, || {
        if exclude {
            g.excl(&ranks)
        } else {
            g.incl(&ranks)
        }
    })
}

#[doc(alias = "MPI_Group_free")]
pub fn group_free(group: &mut MPI_Group) -> MpiResult<()> {
    free(*group)?;
    *group = MPI_GROUP_NULL;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_operations() {
        let world = Group::strided(0, 1, 8);
        let odd = world.incl(&[1, 3, 5, 7]).unwrap();
        assert!(matches!(odd.ranks, Ranks::Strided { stride: 2, .. }));
        assert_eq!(odd.rank_of(5), Some(2));
        assert_eq!(odd.rank_of(4), None);
        let mixed = world.incl(&[6, 1, 4]).unwrap();
        assert!(matches!(mixed.ranks, Ranks::List(_)));
        assert_eq!(
            mixed.union(&odd).iter().collect::<Vec<_>>(),
            [6, 1, 4, 3, 5, 7]
        );
        assert_eq!(odd.filter(&mixed, true).iter().collect::<Vec<_>>(), [1]);
        assert_eq!(
            odd.filter(&mixed, false).iter().collect::<Vec<_>>(),
            [3, 5, 7]
        );
        assert_eq!(
            world.excl(&[0, 7]).unwrap().iter().collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6]
        );
        assert_eq!(world.expand_ranges(&[[6, 0, -3]]).unwrap(), [6, 3, 0]);
        assert_eq!(odd.translate(2, &mixed).unwrap(), MPI_UNDEFINED);
        assert_eq!(odd.translate(0, &mixed).unwrap(), 1);
        assert_eq!(world.incl(&[1, 1]).unwrap_err().code, MPI_ERR_RANK);
        assert_eq!(world.incl(&[8]).unwrap_err().code, MPI_ERR_RANK);
        let rev = world.incl(&[7, 6, 5, 4, 3, 2, 1, 0]).unwrap();
        assert_eq!(rev.compare(&world), MPI_SIMILAR);
        assert_eq!(rev.rank_of(0), Some(7));
        assert_eq!(world.compare(&Group::strided(0, 1, 8)), MPI_IDENT);
    }
}
