//! Reading a node's RPC answers without letting a hostile one crash us.
//!
//! tendermint-rs 0.40 decodes the base64 fields of RPC answers (public keys,
//! txs, signatures, event data) with subtle-encoding 0.5.1, which panics on
//! a value whose last group of four characters starts with `=` (`"AAAA="`):
//! an integer underflow, or a slice out of range where overflow checks are
//! off. A node, or anything answering at its URL, can send one. So every RPC
//! call of this crate (and of synod-testnet, which reads the same answers)
//! runs through [`guarded`], which turns a panic while the answer is read
//! into an error naming the call, and keeps the panic's own report off
//! stderr: the user sees one clear error, never a backtrace.

use std::cell::Cell;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};

thread_local! {
    /// Set while this thread polls a guarded call: the panic hook stays
    /// quiet for panics the guard catches and reports itself.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// Installs (once per process) a panic hook that is silent while a guarded
/// call is polled on the panicking thread and defers to the previous hook
/// otherwise.
fn install_quiet_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs a tendermint-rpc call through [`guarded`]: a panic while its answer
/// is read becomes the call's own error (a client-internal one naming it).
pub async fn rpc<T>(
    call: impl Future<Output = Result<T, tendermint_rpc::Error>>,
) -> Result<T, tendermint_rpc::Error> {
    guarded(call)
        .await
        .unwrap_or_else(|u| Err(tendermint_rpc::Error::client_internal(u.to_string())))
}

/// What a guarded call's future panicked with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The panic's message, when it carried one.
    pub panic: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the node's answer could not be read (tendermint-rs' decoder failed on it: {}); \
             a malformed or hostile answer",
            self.panic
        )
    }
}

/// Runs `call` to completion, or returns [`Unreadable`] if polling it
/// panicked (the future is dropped then, never polled again).
pub async fn guarded<F: Future>(call: F) -> Result<F::Output, Unreadable> {
    install_quiet_hook();
    Guarded {
        inner: Some(Box::pin(call)),
    }
    .await
}

struct Guarded<F> {
    inner: Option<Pin<Box<F>>>,
}

impl<F: Future> Future for Guarded<F> {
    type Output = Result<F::Output, Unreadable>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(Err(Unreadable {
                panic: "polled after it failed".to_owned(),
            }));
        };
        let was = GUARDED.with(|g| g.replace(true));
        let polled = panic::catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx)));
        GUARDED.with(|g| g.set(was));
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => {
                self.inner = None;
                Poll::Ready(Ok(out))
            }
            Err(payload) => {
                self.inner = None;
                let panic = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_owned());
                Poll::Ready(Err(Unreadable { panic }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_while_polling_is_an_error_and_a_value_passes_through() {
        assert_eq!(guarded(async { 7 }).await, Ok(7));
        let err = guarded(async {
            tokio::task::yield_now().await;
            let v: Vec<u8> = Vec::new();
            // An out-of-range slice, as subtle-encoding's decoder does.
            let n = v.len() + 2;
            v[..n].len()
        })
        .await
        .unwrap_err();
        assert!(err.panic.contains("out of range"), "{err}");
        assert!(err.to_string().contains("could not be read"), "{err}");
    }
}
