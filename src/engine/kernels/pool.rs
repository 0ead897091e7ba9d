//! Intra-op parallelism for steps that data parallelism cannot split (batch 1): a
//! [`join`] that runs two borrowing closures at once, one on the calling thread and one on
//! a persistent helper thread (`convlab-intra`, spawned at first use, blocked on a channel
//! while idle so it costs no CPU).
//!
//! Layers only split work into parts that write disjoint outputs and compute every element
//! exactly as the serial code does, so results do not depend on whether a split happened.
//! Splitting is off unless the caller enables it for the current thread with
//! [`with_intra_op`] (the data-parallel trainer does, when a batch runs on one replica);
//! `CONVLAB_INTRA_OP=0` turns it off everywhere.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver, Sender};

type Task = Box<dyn FnOnce() + Send + 'static>;

thread_local! {
    /// Whether layers running on this thread may split an op with [`join`].
    static INTRA_OP: Cell<bool> = const { Cell::new(false) };
    /// Set on the helper thread itself: a nested [`join`] there runs inline.
    static ON_HELPER: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with intra-op splitting enabled (`on`) or disabled on this thread, restoring
/// the previous setting afterwards (also when `f` panics).
pub fn with_intra_op<R>(on: bool, f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            INTRA_OP.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(INTRA_OP.with(|c| c.replace(on)));
    f()
}

/// Whether an op on this thread should split its work across two threads.
pub fn intra_op() -> bool {
    INTRA_OP.with(Cell::get) && !ON_HELPER.with(Cell::get) && !disabled()
}

/// `CONVLAB_INTRA_OP=0` turns intra-op splitting off (for measuring; read once).
fn disabled() -> bool {
    static OFF: OnceLock<bool> = OnceLock::new();
    *OFF.get_or_init(|| {
        std::env::var("CONVLAB_INTRA_OP")
            .is_ok_and(|v| matches!(v.trim(), "0" | "false" | "no" | "off"))
    })
}

fn helper() -> Option<&'static Sender<Task>> {
    static HELPER: OnceLock<Option<Sender<Task>>> = OnceLock::new();
    HELPER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Task>();
            std::thread::Builder::new()
                .name("convlab-intra".into())
                .spawn(move || {
                    ON_HELPER.with(|c| c.set(true));
                    while let Ok(task) = rx.recv() {
                        task();
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// Runs `a` on this thread and `b` on the helper thread, returning when both are done; a
/// panic in either is propagated after both finished. Falls back to running both here
/// (a, then b) when the helper is unavailable or this is the helper thread.
pub fn join<A, B>(a: A, b: B)
where
    A: FnOnce() + Send,
    B: FnOnce() + Send,
{
    let Some(tx) = helper().filter(|_| !ON_HELPER.with(Cell::get)) else {
        a();
        b();
        return;
    };
    let (done_tx, done_rx) = mpsc::sync_channel::<std::thread::Result<()>>(1);
    let task: Box<dyn FnOnce() + Send + '_> = Box::new(move || {
        let r = catch_unwind(AssertUnwindSafe(b));
        let _ = done_tx.send(r);
    });
    // SAFETY: only the lifetime is changed (same vtable and layout). The task borrows from
    // this stack frame; `Wait` below blocks, also while unwinding, until the task has run
    // or been dropped: `done_rx.recv()` returns only after `done_tx` (owned by the task)
    // sent a result or was dropped with the task. So no borrow outlives this call.
    let task: Task = unsafe {
        std::mem::transmute::<Box<dyn FnOnce() + Send + '_>, Box<dyn FnOnce() + Send + 'static>>(
            task,
        )
    };
    struct Wait(Receiver<std::thread::Result<()>>);
    impl Wait {
        fn wait(&self) -> Option<std::thread::Result<()>> {
            self.0.recv().ok()
        }
    }
    impl Drop for Wait {
        fn drop(&mut self) {
            let _ = self.0.recv();
        }
    }
    let wait = Wait(done_rx);
    if let Err(mpsc::SendError(task)) = tx.send(task) {
        // The helper is gone: run its part here (the wait then sees the result at once).
        a();
        task();
    } else {
        a();
    }
    let r = wait.wait();
    // The result was taken; make the drop-time wait return at once.
    drop(wait);
    if let Some(Err(p)) = r {
        resume_unwind(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_runs_both_and_writes_disjoint_halves() {
        let mut v = vec![0u32; 1000];
        let (x, y) = v.split_at_mut(400);
        join(
            || x.iter_mut().for_each(|e| *e = 1),
            || y.iter_mut().for_each(|e| *e = 2),
        );
        assert!(v[..400].iter().all(|&e| e == 1) && v[400..].iter().all(|&e| e == 2));
    }

    #[test]
    fn join_propagates_a_helper_panic() {
        let r = catch_unwind(|| join(|| {}, || panic!("boom")));
        assert!(r.is_err());
        // The helper survives the panic.
        let mut hit = false;
        join(|| {}, || hit = true);
        assert!(hit);
    }

    #[test]
    fn intra_op_flag_is_scoped() {
        assert!(!intra_op());
        with_intra_op(true, || assert!(intra_op()));
        assert!(!intra_op());
    }
}
