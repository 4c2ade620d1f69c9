//! What differs per operating system, in one place: where the data home and the configuration
//! live, what "owner-only" means (mode bits on Unix, a protected ACL for the current user on
//! Windows), replacing a file by rename durably, canonical paths in the form users know, and
//! storing a path's exact bytes.

use std::io;
use std::path::{Path, PathBuf};

/// The default data home: `~/.local/share/deposit` (XDG) on Linux, `%LOCALAPPDATA%\Deposit`
/// on Windows (machine-local: the catalog and the outbox must not roam with a profile).
pub fn data_home() -> Option<PathBuf> {
    #[cfg(windows)]
    {
        directories::BaseDirs::new().map(|b| b.data_local_dir().join("Deposit"))
    }
    #[cfg(not(windows))]
    {
        directories::ProjectDirs::from("org", "deposit", "deposit").map(|d| d.data_dir().into())
    }
}

/// The default configuration folder: `~/.config/deposit` on Linux, `%APPDATA%\Deposit` on
/// Windows (roaming: a user's settings follow them).
pub fn config_dir() -> Option<PathBuf> {
    #[cfg(windows)]
    {
        directories::BaseDirs::new().map(|b| b.config_dir().join("Deposit"))
    }
    #[cfg(not(windows))]
    {
        directories::ProjectDirs::from("org", "deposit", "deposit").map(|d| d.config_dir().into())
    }
}

/// Makes `path` readable and writable by its owner only: mode 0700 (folder) or 0600 (file) on
/// Unix; on Windows an ACL granting the current user full control and no one else, not
/// inheriting from above (a folder's entry is inherited by what is created in it).
pub fn restrict_to_owner(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if std::fs::metadata(path)?.is_dir() {
            0o700
        } else {
            0o600
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(windows)]
    {
        win::restrict_to_owner(path)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = path;
        Ok(())
    }
}

/// Whether only the current user may use `path` ([`restrict_to_owner`]'s result).
pub fn is_owner_only(path: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(std::fs::metadata(path)?.permissions().mode() & 0o077 == 0)
    }
    #[cfg(windows)]
    {
        win::is_owner_only(path)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = path;
        Ok(false)
    }
}

/// Replaces `to` by `from` in one step. On Windows with write-through (`MoveFileExW`), so
/// that the rename is on disk when this returns (a folder cannot be flushed there); on Unix a
/// plain rename, the caller flushing the folder.
pub fn replace_file(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        win::replace_file(from, to)
    }
    #[cfg(not(windows))]
    {
        std::fs::rename(from, to)
    }
}

/// A path's exact bytes for storage: its bytes on Unix; on Windows UTF-8 when the name is valid
/// Unicode, else a 0xFF mark (never in UTF-8) followed by its UTF-16 units, little-endian.
pub fn path_to_bytes(p: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        p.as_os_str().as_bytes().to_vec()
    }
    #[cfg(windows)]
    {
        use std::os::windows::ffi::OsStrExt;
        match p.to_str() {
            Some(s) => s.as_bytes().to_vec(),
            None => std::iter::once(0xFF)
                .chain(p.as_os_str().encode_wide().flat_map(u16::to_le_bytes))
                .collect(),
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        p.to_string_lossy().as_bytes().to_vec()
    }
}

/// The path [`path_to_bytes`] stored.
pub fn path_from_bytes(b: Vec<u8>) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        PathBuf::from(std::ffi::OsString::from_vec(b))
    }
    #[cfg(windows)]
    {
        use std::os::windows::ffi::OsStringExt;
        match b.split_first() {
            Some((0xFF, wide)) => {
                let units: Vec<u16> = wide
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                PathBuf::from(std::ffi::OsString::from_wide(&units))
            }
            _ => PathBuf::from(String::from_utf8_lossy(&b).into_owned()),
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        PathBuf::from(String::from_utf8_lossy(&b).into_owned())
    }
}

/// `path` absolute with symbolic links resolved (`std::fs::canonicalize`), in the form users
/// know: on Windows `C:\…` and `\\server\share\…` instead of the verbatim `\\?\` forms,
/// which stay only where a plain path would not mean the same (longer than the old 260-character
/// limit, reserved names).
pub fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    dunce::canonicalize(path)
}

/// Shows `text` in a modal error box titled `title` (Windows: the system's message box, for a
/// program without a console). Returns whether it could be shown; elsewhere it never is.
pub fn error_box(title: &str, text: &str) -> bool {
    #[cfg(windows)]
    {
        win::error_box(title, text)
    }
    #[cfg(not(windows))]
    {
        let _ = (title, text);
        false
    }
}

#[cfg(windows)]
#[allow(unsafe_code)]
mod win {
    //! The Win32 calls behind owner-only folders and durable replaces.
    use std::io;
    use std::os::windows::ffi::OsStrExt;
    use std::path::Path;
    use std::ptr::{null, null_mut};

    use windows_sys::Win32::Foundation::{CloseHandle, LocalFree, ERROR_SUCCESS, HANDLE};
    use windows_sys::Win32::Security::Authorization::{
        GetNamedSecurityInfoW, SetEntriesInAclW, SetNamedSecurityInfoW, EXPLICIT_ACCESS_W,
        NO_MULTIPLE_TRUSTEE, SET_ACCESS, SE_FILE_OBJECT, TRUSTEE_IS_SID, TRUSTEE_IS_USER,
        TRUSTEE_W,
    };
    use windows_sys::Win32::Security::{
        AclSizeInformation, EqualSid, GetAce, GetAclInformation, GetTokenInformation, TokenUser,
        ACCESS_ALLOWED_ACE, ACL, ACL_SIZE_INFORMATION, DACL_SECURITY_INFORMATION, NO_INHERITANCE,
        PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
        SUB_CONTAINERS_AND_OBJECTS_INHERIT, TOKEN_QUERY, TOKEN_USER,
    };
    use windows_sys::Win32::Storage::FileSystem::{
        MoveFileExW, FILE_ALL_ACCESS, MOVEFILE_REPLACE_EXISTING, MOVEFILE_WRITE_THROUGH,
    };
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};
    use windows_sys::Win32::UI::WindowsAndMessaging::{
        MessageBoxW, MB_ICONERROR, MB_OK, MB_SETFOREGROUND,
    };

    pub(super) fn error_box(title: &str, text: &str) -> bool {
        let z = |s: &str| {
            s.encode_utf16()
                .chain(std::iter::once(0))
                .collect::<Vec<u16>>()
        };
        let (title, text) = (z(title), z(text));
        // SAFETY: both strings are NUL-terminated UTF-16 buffers alive for the call; no owner
        // window.
        let r = unsafe {
            MessageBoxW(
                null_mut(),
                text.as_ptr(),
                title.as_ptr(),
                MB_OK | MB_ICONERROR | MB_SETFOREGROUND,
            )
        };
        r != 0
    }

    fn wide(p: &Path) -> Vec<u16> {
        p.as_os_str()
            .encode_wide()
            .chain(std::iter::once(0))
            .collect()
    }

    fn status(code: u32) -> io::Result<()> {
        if code == ERROR_SUCCESS {
            Ok(())
        } else {
            Err(io::Error::from_raw_os_error(code as i32))
        }
    }

    /// The current user's token information (TOKEN_USER), in a buffer aligned for it.
    struct CurrentUser {
        buf: Vec<u64>,
    }

    impl CurrentUser {
        fn get() -> io::Result<CurrentUser> {
            // SAFETY: the token handle is checked and closed; the buffer is sized by the first
            // call and aligned to 8 bytes (TOKEN_USER holds a pointer).
            unsafe {
                let mut token: HANDLE = null_mut();
                if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
                    return Err(io::Error::last_os_error());
                }
                let mut len = 0u32;
                GetTokenInformation(token, TokenUser, null_mut(), 0, &mut len);
                let mut buf = vec![0u64; (len as usize).div_ceil(8).max(1)];
                let ok = GetTokenInformation(
                    token,
                    TokenUser,
                    buf.as_mut_ptr().cast(),
                    (buf.len() * 8) as u32,
                    &mut len,
                );
                let err = io::Error::last_os_error();
                CloseHandle(token);
                if ok == 0 {
                    return Err(err);
                }
                Ok(CurrentUser { buf })
            }
        }

        fn sid(&self) -> *mut core::ffi::c_void {
            // SAFETY: filled by GetTokenInformation(TokenUser) in `get`.
            unsafe { (*(self.buf.as_ptr() as *const TOKEN_USER)).User.Sid }
        }
    }

    pub(super) fn restrict_to_owner(path: &Path) -> io::Result<()> {
        let dir = std::fs::metadata(path)?.is_dir();
        let user = CurrentUser::get()?;
        let access = EXPLICIT_ACCESS_W {
            grfAccessPermissions: FILE_ALL_ACCESS,
            grfAccessMode: SET_ACCESS,
            grfInheritance: if dir {
                SUB_CONTAINERS_AND_OBJECTS_INHERIT
            } else {
                NO_INHERITANCE
            },
            Trustee: TRUSTEE_W {
                pMultipleTrustee: null_mut(),
                MultipleTrusteeOperation: NO_MULTIPLE_TRUSTEE,
                TrusteeForm: TRUSTEE_IS_SID,
                TrusteeType: TRUSTEE_IS_USER,
                ptstrName: user.sid().cast(),
            },
        };
        let name = wide(path);
        // SAFETY: `access` points at the live SID of `user`; the new ACL is freed with
        // LocalFree as SetEntriesInAclW requires.
        unsafe {
            let mut acl: *mut ACL = null_mut();
            status(SetEntriesInAclW(1, &access, null(), &mut acl))?;
            let r = SetNamedSecurityInfoW(
                name.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                null_mut(),
                null_mut(),
                acl,
                null(),
            );
            LocalFree(acl.cast());
            status(r)
        }
    }

    pub(super) fn is_owner_only(path: &Path) -> io::Result<bool> {
        let user = CurrentUser::get()?;
        let name = wide(path);
        // SAFETY: the security descriptor is freed with LocalFree; the DACL points into it and
        // is only read before that.
        unsafe {
            let mut dacl: *mut ACL = null_mut();
            let mut sd: PSECURITY_DESCRIPTOR = null_mut();
            status(GetNamedSecurityInfoW(
                name.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION,
                null_mut(),
                null_mut(),
                &mut dacl,
                null_mut(),
                &mut sd,
            ))?;
            let mut only = !dacl.is_null();
            if only {
                let mut info: ACL_SIZE_INFORMATION = std::mem::zeroed();
                only = GetAclInformation(
                    dacl,
                    (&mut info as *mut ACL_SIZE_INFORMATION).cast(),
                    std::mem::size_of::<ACL_SIZE_INFORMATION>() as u32,
                    AclSizeInformation,
                ) != 0;
                for i in 0..info.AceCount {
                    let mut ace: *mut core::ffi::c_void = null_mut();
                    if !only || GetAce(dacl, i, &mut ace) == 0 {
                        only = false;
                        break;
                    }
                    let allowed = ace as *const ACCESS_ALLOWED_ACE;
                    // an ACCESS_ALLOWED_ACE's SID starts at its SidStart field
                    let sid = std::ptr::addr_of!((*allowed).SidStart) as *mut core::ffi::c_void;
                    if (*allowed).Header.AceType != 0 || EqualSid(sid, user.sid()) == 0 {
                        only = false;
                    }
                }
            }
            LocalFree(sd.cast());
            Ok(only)
        }
    }

    pub(super) fn replace_file(from: &Path, to: &Path) -> io::Result<()> {
        let (a, b) = (wide(from), wide(to));
        // SAFETY: both names are NUL-terminated UTF-16 buffers alive for the call.
        let ok = unsafe {
            MoveFileExW(
                a.as_ptr(),
                b.as_ptr(),
                MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH,
            )
        };
        if ok == 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// Whether `name` cannot be a file name on Windows whatever folder it is in: a device name
/// (`CON`, `PRN`, `AUX`, `NUL`, `COM1`–`COM9`, `LPT1`–`LPT9`, with any extension, in any case)
/// or a name ending in a dot or a space (Windows drops them, so two names would be one file).
/// Checked on every system, so that what is written from an archive is the same everywhere.
pub fn unusable_on_windows(name: &str) -> bool {
    if name.ends_with('.') || name.ends_with(' ') {
        return true;
    }
    let base = name.split('.').next().unwrap_or(name).to_ascii_uppercase();
    matches!(base.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((base.starts_with("COM") || base.starts_with("LPT"))
            && base.len() == 4
            && base
                .as_bytes()
                .get(3)
                .is_some_and(|d| (b'1'..=b'9').contains(d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_windows_cannot_hold_are_told_apart() {
        for bad in [
            "CON",
            "con.dcm",
            "Aux",
            "NUL.tar.gz",
            "COM1",
            "lpt9.x",
            "a.",
            "b ",
        ] {
            assert!(unusable_on_windows(bad), "{bad}");
        }
        for ok in [
            "CONSOLE.dcm",
            "COM10",
            "COM0",
            "1.2.840.113619.dcm",
            "DICOM",
            "a.b",
        ] {
            assert!(!unusable_on_windows(ok), "{ok}");
        }
    }

    #[test]
    fn owner_only_folders_and_files() {
        let d = tempfile::tempdir().expect("tmp");
        let dir = d.path().join("home");
        std::fs::create_dir(&dir).expect("mkdir");
        let file = dir.join("site.key");
        std::fs::write(&file, b"k").expect("write");
        restrict_to_owner(&dir).expect("folder");
        restrict_to_owner(&file).expect("file");
        assert!(is_owner_only(&dir).expect("read folder"));
        assert!(is_owner_only(&file).expect("read file"));
        // and still usable by its owner
        std::fs::write(dir.join("new"), b"n").expect("write inside");
        assert_eq!(std::fs::read(&file).expect("read"), b"k");
    }

    #[test]
    fn replace_file_replaces() {
        let d = tempfile::tempdir().expect("tmp");
        let (a, b) = (d.path().join("a.part"), d.path().join("a"));
        std::fs::write(&b, b"old").expect("old");
        std::fs::write(&a, b"new").expect("new");
        replace_file(&a, &b).expect("replace");
        assert_eq!(std::fs::read(&b).expect("read"), b"new");
        assert!(!a.exists());
    }

    #[test]
    fn stored_paths_round_trip() {
        for p in ["plain/a.dcm", "Grünwald/ß €/影像.dcm", "C:\\studies\\x.dcm"] {
            let p = Path::new(p);
            assert_eq!(path_from_bytes(path_to_bytes(p)), p);
        }
        #[cfg(windows)]
        {
            use std::os::windows::ffi::OsStringExt;
            // an unpaired surrogate: a valid Windows name that is not Unicode
            let odd = PathBuf::from(std::ffi::OsString::from_wide(&[0x61, 0xD800, 0x62]));
            assert_eq!(path_from_bytes(path_to_bytes(&odd)), odd);
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            let odd = PathBuf::from(std::ffi::OsString::from_vec(vec![b'a', 0xFF, b'b']));
            assert_eq!(path_from_bytes(path_to_bytes(&odd)), odd);
        }
    }
}
