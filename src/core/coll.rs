//! Collective operations over point-to-point messages in the
//! communicator's collective context (so they never match user messages).
//! These are the simple algorithms the rest of the library needs first;
//! the collectives issue brings the tuned ones.

use super::comm::Comm;
use super::error::MpiResult;
use super::p2p::{Envelope, SendBuf, engine};
use super::request::{ReqKind, Request, SendMode};

/// Dissemination barrier: in round k every rank signals rank + 2^k and
/// hears from rank - 2^k; after ceil(log2 n) rounds everyone has entered.
pub fn barrier(comm: &Comm) -> MpiResult<()> {
    let n = comm.size;
    let me = comm.rank;
    let mut dist = 1;
    let mut round = 0;
    while dist < n {
        let to = (me + dist) % n;
        let from = (me - dist).rem_euclid(n);
        let r = Request::new(ReqKind::Recv, comm.handle);
        engine().irecv(comm.coll_ctx(), from, round, 0, 0, r.clone());
        let s = Request::new(ReqKind::Send, comm.handle);
        let env = Envelope {
            ctx: comm.coll_ctx(),
            src: me,
            tag: round,
        };
        engine().isend(
            env,
            comm.world_rank(to),
            SendBuf::user(0, 0),
            SendMode::Standard,
            s.clone(),
        )?;
        engine().wait_until(|| r.is_done() && s.is_done());
        dist *= 2;
        round += 1;
    }
    Ok(())
}
