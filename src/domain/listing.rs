//! Listing approvals: which ones, and one page at a time. Owned by the domain so every
//! surface (gRPC, the console, the CLI) asks the same question the same way.

use super::{Approval, ApprovalState};

/// Which approvals to list; every `Some` must match (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApprovalFilter {
    /// State as observed now (an overdue pending approval counts as expired).
    pub state: Option<ApprovalState>,
    /// Requester.
    pub subject_id: Option<String>,
    /// Action name.
    pub action: Option<String>,
    /// Approvals this reviewer has reviewed.
    pub reviewer_id: Option<String>,
    /// Text the action, the resource (`type/id`) or the intent contains (case-insensitive
    /// for ASCII letters; `%` and `_` are matched literally).
    pub text: Option<String>,
}

/// One page of a listing, by keyset: ids are UUID v7, so id order is creation order and a
/// cursor stays valid while rows are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Most rows to return (at least 1 is used).
    pub limit: u32,
    /// Return rows with ids after this one (the previous page's `next`).
    pub after_id: Option<String>,
}

impl Page {
    /// Rows per page when the caller does not say.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// Most rows one page may ask for.
    pub const MAX_LIMIT: u32 = 500;
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: Self::DEFAULT_LIMIT,
            after_id: None,
        }
    }
}

/// A page of approvals, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalPage {
    /// The rows.
    pub items: Vec<Approval>,
    /// Cursor for the next page; `None` when this page is the last.
    pub next: Option<String>,
}
