//! DICOM network plumbing shared by the C-STORE SCU (`archive::cstore`) and the SCP (`receive`):
//! the AE-title rule, DIMSE command sets (encode and decode), statuses and the UIDs both sides
//! negotiate.
//!
//! Command sets are always Implicit VR Little Endian (PS3.7 6.3.1); every reader here returns an
//! error or `None` on malformed bytes, never panics.

pub mod ae;
pub mod command;
pub mod scp;
pub mod scu;
pub mod status;

pub use ae::valid_ae;
pub use command::{read_request, read_response, Request, Response};
pub use command::{C_CANCEL_RQ, C_ECHO_RQ, C_FIND_RQ, C_STORE_RQ, NO_DATASET};
pub use scp::response;
pub use scu::{echo_rq, find_rq, found_instance, image_query, store_rq};
#[cfg(test)]
pub use scu::{read_response_any, store_rsp};
pub use status::{describe, outcome, Outcome};

/// Verification SOP Class (C-ECHO).
pub const VERIFICATION: &str = "1.2.840.10008.1.1";
/// Study Root Query/Retrieve Information Model - FIND.
pub const STUDY_ROOT_FIND: &str = "1.2.840.10008.5.1.4.1.2.2.1";
/// Implicit VR Little Endian.
pub const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
/// Explicit VR Little Endian.
pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
/// Deflated Explicit VR Little Endian.
pub const DEFLATED_LE: &str = "1.2.840.10008.1.2.1.99";
/// Explicit VR Big Endian (retired).
pub const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";

/// True for transfer syntaxes whose data can be re-encoded into another native syntax
/// without touching compressed pixel data.
pub fn is_native(ts: &str) -> bool {
    matches!(ts, IMPLICIT_LE | EXPLICIT_LE | DEFLATED_LE | EXPLICIT_BE)
}
