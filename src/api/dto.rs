//! Types that cross the api boundary (to the CLI's JSON, the service and the desktop UI).

pub use super::studies::StudyOverview;
pub use crate::catalog::{InstanceRow, ScanSummary, Skipped, StudyRow};
pub use crate::config::Delivery;
pub use crate::deid::Action;
pub use crate::error::ApiError;
pub use crate::intake::{Progress, ScanOptions};
pub use crate::queue::runner::RunReport;
