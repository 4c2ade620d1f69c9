//! Who Deposit is to other DICOM software: the implementation class UID and version name, written
//! in the file meta of every file it writes and announced in every association it accepts.

/// Our implementation class UID (a fixed UUID-derived 2.25 UID).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.131859000735619966894291147236674324211";
/// Our implementation version name.
pub const IMPLEMENTATION_VERSION_NAME: &str = "DEPOSIT_0_1";
