//! The RPC methods, one file per group: the stored chain ([`chain`]), the
//! validator set and consensus parameters ([`consensus`]), searches
//! ([`search`]), transactions ([`tx`]), the mempool ([`mempool`]), the app
//! ([`abci`]) and the node itself ([`status`]). Each adds its handlers to
//! the server; the dispatcher picks them by name. Errors read as
//! CometBFT's (`rpc/core`), so clients that match on them keep working.

mod abci;
mod chain;
mod consensus;
mod mempool;
mod search;
mod status;
pub(super) mod tx;

use super::{jsonrpc::RpcError, params::Params};

/// Entries per page when none is asked (CometBFT's `defaultPerPage`).
const DEFAULT_PER_PAGE: usize = 30;
/// Most entries per page (CometBFT's `maxPerPage`).
const MAX_PER_PAGE: usize = 100;

/// A page of a list, as CometBFT's `validatePage` and `validatePerPage`
/// pick it: `per_page` 30 by default, at most 100 (below 1: the default);
/// `page` 1 by default, else within the pages there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Page {
    skip: usize,
    per_page: usize,
}

impl Page {
    fn of(params: &Params, total: usize) -> Result<Page, RpcError> {
        Page::at(params.int("page")?, params.int("per_page")?, total)
    }

    fn at(page: Option<i64>, per_page: Option<i64>, total: usize) -> Result<Page, RpcError> {
        let per_page = match per_page {
            Some(n) if n >= 1 => (n as u64).min(MAX_PER_PAGE as u64) as usize,
            _ => DEFAULT_PER_PAGE,
        };
        let Some(page) = page else {
            return Ok(Page { skip: 0, per_page });
        };
        let pages = (total.saturating_sub(1) / per_page + 1) as i64;
        if page <= 0 || page > pages {
            return Err(RpcError::internal(format!(
                "page should be within [1, {pages}] range, given {page}"
            )));
        }
        Ok(Page {
            skip: (page as usize - 1) * per_page,
            per_page,
        })
    }

    /// This page's entries of `all`.
    fn of_list<T>(self, all: Vec<T>) -> Vec<T> {
        all.into_iter()
            .skip(self.skip)
            .take(self.per_page)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_picked_as_cometbft_picks_them() {
        assert_eq!(
            Page::at(None, None, 0).unwrap(),
            Page {
                skip: 0,
                per_page: 30
            }
        );
        assert_eq!(Page::at(Some(2), Some(1000), 150).unwrap().skip, 100);
        assert_eq!(Page::at(None, Some(0), 5).unwrap().per_page, 30);
        let e = Page::at(Some(3), Some(10), 15).unwrap_err();
        assert_eq!(e.data, "page should be within [1, 2] range, given 3");
        assert!(
            Page::at(Some(1), None, 0).is_ok(),
            "an empty list has one page"
        );
        assert!(Page::at(Some(0), None, 0).is_err());
    }
}
