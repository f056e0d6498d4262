//! The reviewer console's building blocks. So far: its secret and the tokens it signs
//! ([`keys`]), used by the Slack endpoint for step-up deep links. The console's pages
//! (OIDC sign-in, list, detail, history) are not built yet.

pub mod keys;
