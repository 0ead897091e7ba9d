//! Intra-op parallelism for steps that data parallelism cannot split (batch 1): a
//! [`join`] that runs two borrowing closures at once, one on the calling thread and one on
//! a persistent helper thread (`convlab-intra`, spawned at first use).
//!
//! A batch-1 step hands the helper a few dozen parts of well under a millisecond each, so
//! the hand-over must cost microseconds, not a futex wake-up each way: after a part the
//! helper spins for [`SPIN`] watching for the next one before it parks, and the caller
//! spins the same while waiting for the helper's part. Idle, the helper is parked and costs
//! no CPU; with a single core nobody spins.
//!
//! Layers only split work into parts that write disjoint outputs and compute every element
//! exactly as the serial code does, so results do not depend on whether a split happened.
//! Splitting is off unless the caller enables it for the current thread with
//! [`with_intra_op`] (the data-parallel trainer does, when a batch runs on one replica);
//! `CONVLAB_INTRA_OP=0` turns it off everywhere.

use std::any::Any;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant};

type Task = Box<dyn FnOnce() + Send + 'static>;

/// How long the helper waits busily for the next part, and the caller for the helper's
/// part, before parking: longer than the gaps between the parts of a step, short enough
/// that an idle helper is parked within a fraction of a millisecond.
const SPIN: Duration = Duration::from_micros(200);

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

/// What the caller and the helper share.
#[derive(Default)]
struct Mailbox {
    /// The part handed to the helper, with `pending` set once it is in place.
    task: Mutex<Option<Task>>,
    pending: AtomicBool,
    /// Set by the helper when the part has run; `panic` holds its panic, if any.
    done: AtomicBool,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// The thread to unpark when the part is done.
    caller: Mutex<Option<Thread>>,
}

struct Helper {
    mailbox: Arc<Mailbox>,
    thread: Thread,
    /// Claimed by the one [`join`] that uses the helper at a time; others run inline.
    busy: AtomicBool,
}

/// Whether waiting busily can help: with one core the spinner would hold up the thread
/// it waits for.
fn may_spin() -> bool {
    static CORES: OnceLock<bool> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2))
}

/// Spins up to [`SPIN`] (when [`may_spin`]), then parks, until `ready` says yes. Every
/// 64 spins it yields, in case the scheduler put the thread it waits for on this core.
fn wait_until(ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        if !may_spin() || start.elapsed() >= SPIN {
            std::thread::park();
            continue;
        }
        for _ in 0..64 {
            std::hint::spin_loop();
        }
        std::thread::yield_now();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking part is caught before it could poison anything; tolerate it anyway.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn helper() -> Option<&'static Helper> {
    static HELPER: OnceLock<Option<Helper>> = OnceLock::new();
    HELPER
        .get_or_init(|| {
            let mailbox = Arc::new(Mailbox::default());
            let mb = Arc::clone(&mailbox);
            std::thread::Builder::new()
                .name("convlab-intra".into())
                .spawn(move || {
                    ON_HELPER.with(|c| c.set(true));
                    loop {
                        wait_until(|| mb.pending.load(Ordering::Acquire));
                        mb.pending.store(false, Ordering::Relaxed);
                        let task = lock(&mb.task).take();
                        if let Some(task) = task {
                            task();
                        }
                    }
                })
                .ok()
                .map(|h| Helper {
                    mailbox,
                    thread: h.thread().clone(),
                    busy: AtomicBool::new(false),
                })
        })
        .as_ref()
}

/// Runs `a` on this thread and `b` on the helper thread, returning when both are done; a
/// panic in either is propagated after both finished. Falls back to running both here
/// (a, then b) when the helper is unavailable, busy with another caller's join, or this is
/// the helper thread.
pub fn join<A, B>(a: A, b: B)
where
    A: FnOnce() + Send,
    B: FnOnce() + Send,
{
    let helper = helper().filter(|h| {
        !ON_HELPER.with(Cell::get)
            && h.busy
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    });
    let Some(helper) = helper else {
        a();
        b();
        return;
    };
    let mb = &*helper.mailbox;
    let done_mb = Arc::clone(&helper.mailbox);
    let task: Box<dyn FnOnce() + Send + '_> = Box::new(move || {
        if let Err(p) = catch_unwind(AssertUnwindSafe(b)) {
            *lock(&done_mb.panic) = Some(p);
        }
        let caller = lock(&done_mb.caller).take();
        done_mb.done.store(true, Ordering::Release);
        if let Some(c) = caller {
            c.unpark();
        }
    });
    // SAFETY: only the lifetime is changed (same vtable and layout). The task borrows from
    // this stack frame; `Wait` below blocks, also while unwinding, until the helper has run
    // it (`done` is set only after the task's last use of its captures, and the helper
    // catches the part's panic, so a handed-over task always runs to that point). So no
    // borrow outlives this call.
    let task: Task = unsafe {
        std::mem::transmute::<Box<dyn FnOnce() + Send + '_>, Box<dyn FnOnce() + Send + 'static>>(
            task,
        )
    };
    struct Wait<'h>(&'h Helper);
    impl Drop for Wait<'_> {
        fn drop(&mut self) {
            let mb = &*self.0.mailbox;
            wait_until(|| mb.done.load(Ordering::Acquire));
            self.0.busy.store(false, Ordering::Release);
        }
    }
    mb.done.store(false, Ordering::Relaxed);
    // A panic left by a part whose caller was itself unwinding is not this join's.
    *lock(&mb.panic) = None;
    *lock(&mb.caller) = Some(std::thread::current());
    *lock(&mb.task) = Some(task);
    mb.pending.store(true, Ordering::Release);
    helper.thread.unpark();
    let wait = Wait(helper);
    a();
    drop(wait);
    if let Some(p) = lock(&mb.panic).take() {
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
