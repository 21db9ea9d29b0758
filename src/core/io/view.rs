//! File views (MPI-4.1 section 14.3): which bytes of the file a process
//! sees, as a displacement, an elementary type and a filetype that tiles
//! the file from the displacement on. Data access works on the view's
//! data stream (the bytes the filetype selects, in typemap order); `runs`
//! turns a stretch of that stream into the file's byte ranges.

use super::datarep::{self, Rep};
use crate::core::consts::*;
use crate::core::datatype::{self, Datatype};
use crate::core::error::{MpiError, MpiResult};
use crate::core::types::MPI_Datatype;
use std::sync::Arc;

#[derive(Clone)]
pub struct View {
    /// Where the first filetype starts, in bytes from the file's start.
    pub disp: i64,
    /// The types, held while the view uses them (the user may free
    /// their handles).
    pub etype: Arc<Datatype>,
    pub filetype: Arc<Datatype>,
    pub datarep: String,
    pub rep: Rep,
    /// Bytes of one etype.
    pub etype_size: i64,
    /// Data bytes and extent of one filetype.
    ft_size: i64,
    ft_extent: i64,
    /// The filetype's runs (offset from the tile's start, length), in
    /// typemap order, touching runs merged.
    ft_runs: Arc<[(i64, i64)]>,
}

impl View {
    /// The view every file starts with: bytes, from the start.
    pub fn bytes() -> View {
        let byte = datatype::get(MPI_BYTE).expect("MPI_BYTE is predefined");
        View {
            disp: 0,
            etype: byte.clone(),
            filetype: byte,
            datarep: "native".into(),
            rep: Rep::Native,
            etype_size: 1,
            ft_size: 1,
            ft_extent: 1,
            ft_runs: Arc::from(vec![(0, 1)]),
        }
    }

    /// A view of `filetype` tiles from `disp`, in units of `etype`.
    pub fn new(
        disp: i64,
        etype: MPI_Datatype,
        filetype: MPI_Datatype,
        datarep: &str,
        writable: bool,
    ) -> MpiResult<View> {
        if disp < 0 {
            return Err(MpiError::new(
                MPI_ERR_ARG,
                format!("negative view displacement {disp}"),
            ));
        }
        let (et, etype_size, _, et_runs) = shape(etype, "etype")?;
        in_order(&et_runs, "etype", writable)?;
        if etype_size <= 0 {
            return Err(MpiError::new(MPI_ERR_TYPE, "the etype has no data"));
        }
        let (ft, ft_size, ft_extent, ft_runs) = shape(filetype, "filetype")?;
        if ft_size % etype_size != 0 {
            return Err(MpiError::new(
                MPI_ERR_IO,
                format!(
                    "the filetype's size ({ft_size} bytes) is not a multiple of the etype's \
                     ({etype_size} bytes)"
                ),
            ));
        }
        in_order(&ft_runs, "filetype", writable)?;
        let rep = datarep::for_view(datarep, &[&et, &ft])?;
        Ok(View {
            disp,
            etype: et,
            filetype: ft,
            datarep: datarep.into(),
            rep,
            etype_size,
            ft_size,
            ft_extent,
            ft_runs: Arc::from(ft_runs),
        })
    }

    /// The file's byte ranges (offset, length) holding `len` bytes of the
    /// data stream from byte `pos` of it on, merged where they touch.
    pub fn runs(&self, pos: i64, len: i64) -> Vec<(i64, i64)> {
        let mut out: Vec<(i64, i64)> = Vec::new();
        if len <= 0 || self.ft_size == 0 {
            return out;
        }
        let mut tile = pos / self.ft_size;
        let mut skip = pos % self.ft_size;
        let mut left = len;
        loop {
            for &(off, n) in self.ft_runs.iter() {
                if skip >= n {
                    skip -= n;
                    continue;
                }
                let at = self.disp + tile * self.ft_extent + off + skip;
                let take = (n - skip).min(left);
                skip = 0;
                match out.last_mut() {
                    Some(last) if last.0 + last.1 == at => last.1 += take,
                    _ => out.push((at, take)),
                }
                left -= take;
                if left == 0 {
                    return out;
                }
            }
            tile += 1;
        }
    }

    /// The absolute byte offset of etype `offset` of the view.
    pub fn byte_offset(&self, offset: i64) -> i64 {
        match self.runs(offset * self.etype_size, 1).first() {
            Some(r) => r.0,
            None => self.disp,
        }
    }

    /// How many etypes of the view lie before absolute byte `end` (for
    /// `MPI_SEEK_END`).
    pub fn etypes_before(&self, end: i64) -> i64 {
        if self.ft_size == 0 || end <= self.disp {
            return 0;
        }
        let rel = end - self.disp;
        let tiles = rel / self.ft_extent;
        let within = rel % self.ft_extent;
        let part: i64 = self
            .ft_runs
            .iter()
            .map(|&(off, n)| (within - off).clamp(0, n))
            .sum();
        (tiles * self.ft_size + part) / self.etype_size
    }
}

/// Size, extent and runs of one element of `dt`, which must be committed.
/// An etype's or filetype's displacements must be nonnegative and
/// nondecreasing, and in a file that may be written, must not overlap
/// (MPI-4.1 section 14.3; the class is ROMIO's).
fn in_order(runs: &[(i64, i64)], what: &str, writable: bool) -> MpiResult<()> {
    let bad = if runs.iter().any(|r| r.0 < 0) {
        Some("negative displacements")
    } else if runs.windows(2).any(|w| w[1].0 < w[0].0) {
        Some("decreasing displacements")
    } else if writable && runs.windows(2).any(|w| w[1].0 < w[0].0 + w[0].1) {
        Some("overlapping data, in a file that may be written")
    } else {
        None
    };
    match bad {
        Some(why) => Err(MpiError::new(
            MPI_ERR_IO,
            format!("the view's {what} has {why}"),
        )),
        None => Ok(()),
    }
}

/// The type itself, its size, extent and runs (merged).
type Shape = (Arc<Datatype>, i64, i64, Vec<(i64, i64)>);

fn shape(dt: MPI_Datatype, what: &str) -> MpiResult<Shape> {
    let t = datatype::get_committed(dt)
        .map_err(|e| MpiError::new(e.code, format!("the view's {what}: {}", e.msg)))?;
    let mut runs: Vec<(i64, i64)> = Vec::new();
    let mut left = t.size();
    t.node
        .runs(0, 1, &mut left, &mut |off, n| match runs.last_mut() {
            Some(last) if last.0 + last.1 == off => last.1 += n,
            _ => runs.push((off, n)),
        });
    Ok((t.clone(), t.size(), t.extent(), runs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strided(disp: i64, runs: Vec<(i64, i64)>, size: i64, extent: i64) -> View {
        View {
            disp,
            ft_size: size,
            ft_extent: extent,
            ft_runs: Arc::from(runs),
            ..View::bytes()
        }
    }

    #[test]
    fn bytes_view_is_the_file() {
        assert_eq!(View::bytes().runs(10, 5), vec![(10, 5)]);
    }

    #[test]
    fn a_strided_view_selects_its_runs_tile_by_tile() {
        // 2 bytes of every 8, from byte 100.
        let v = strided(100, vec![(0, 2)], 2, 8);
        assert_eq!(v.runs(0, 5), vec![(100, 2), (108, 2), (116, 1)]);
        assert_eq!(v.runs(3, 2), vec![(109, 1), (116, 1)]);
        assert_eq!(v.etypes_before(100), 0);
        assert_eq!(v.etypes_before(109), 3);
        assert_eq!(v.etypes_before(124), 6);
    }

    #[test]
    fn touching_runs_merge() {
        let v = strided(0, vec![(0, 4), (4, 4)], 8, 8);
        assert_eq!(v.runs(2, 12), vec![(2, 12)]);
    }
}
