//! The evaluation workers: a fixed set of threads that run the chain.
//!
//! Policy evaluation is short and CPU-bound, and wasmtime-wasi's blocking
//! shims must not run on tokio's async threads, so requests are handed to
//! these threads and awaited. A fixed set (one per CPU by default) bounds
//! how many instances live at once, and lets each thread keep its warm
//! instances (see `sandbox::warm`) from one request to the next.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed pool of evaluation threads; they stop when it is dropped.
pub struct Workers {
    jobs: Mutex<Sender<Job>>,
    count: usize,
}

/// The job could not produce a result: it panicked (the worker survives).
#[derive(Debug, thiserror::Error)]
#[error("evaluation worker failed")]
pub struct WorkerFailed;

impl Workers {
    /// Starts `count` threads (at least one).
    pub fn start(count: usize) -> std::io::Result<Workers> {
        let count = count.max(1);
        let (sender, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..count {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("portcullis-eval-{index}"))
                .spawn(move || work(&receiver))?;
        }
        Ok(Workers {
            jobs: Mutex::new(sender),
            count,
        })
    }

    /// One thread per available CPU.
    pub fn default_count() -> usize {
        std::thread::available_parallelism().map_or(2, usize::from)
    }

    /// How many threads there are.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Runs `job` on a worker and waits for its result without blocking
    /// the async thread.
    pub async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, WorkerFailed> {
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // A receiver that gave up (the client hung up) is no error here.
            let _ = reply.send(job());
        });
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .map_err(|_| WorkerFailed)?;
        result.await.map_err(|_| WorkerFailed)
    }
}

/// A worker's loop: take the next job, run it, survive its panic (its
/// reply is dropped, so the request fails closed).
fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        let job = match receiver.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return, // the pool was dropped
        };
        if catch_unwind(AssertUnwindSafe(job)).is_err() {
            tracing::error!("an evaluation panicked; the request was refused");
        }
    }
}
