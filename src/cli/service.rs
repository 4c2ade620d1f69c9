//! `deposit service install|uninstall|start|stop receive|web`: the receiver and the web UI as
//! Windows services (started at boot, stopped cleanly by the service manager), and the hidden
//! `deposit service run`, which is what the service manager starts. Elsewhere these commands
//! say what to use instead (the systemd units of the Linux packages).

use std::path::{Path, PathBuf};

use super::args::{ServiceAction, ServiceKind};
use crate::error::ApiError;

impl ServiceKind {
    /// The service's name in the service manager.
    pub fn service_name(self) -> &'static str {
        match self {
            ServiceKind::Receive => "DepositReceive",
            ServiceKind::Web => "DepositWeb",
        }
    }

    /// Its log file in the service's data home: `logs/NAME.log`.
    pub fn log_name(self) -> &'static str {
        match self {
            ServiceKind::Receive => "receive",
            ServiceKind::Web => "web",
        }
    }

    /// The `deposit` command the service runs.
    pub fn command(self) -> &'static str {
        match self {
            ServiceKind::Receive => "receive",
            ServiceKind::Web => "serve",
        }
    }

    /// Its name on the command line: `deposit service … receive|web`.
    pub fn arg_name(self) -> &'static str {
        match self {
            ServiceKind::Receive => "receive",
            ServiceKind::Web => "web",
        }
    }

    #[cfg_attr(not(windows), allow(dead_code))]
    fn display_name(self) -> &'static str {
        match self {
            ServiceKind::Receive => "Deposit receiver (DICOM C-STORE)",
            ServiceKind::Web => "Deposit web UI",
        }
    }

    #[cfg_attr(not(windows), allow(dead_code))]
    fn description(self) -> &'static str {
        match self {
            ServiceKind::Receive => {
                "Receives DICOM from scanners and PACS, de-identifies it and forwards it (Deposit)."
            }
            ServiceKind::Web => "The web UI for monitoring Deposit's queue and quarantine.",
        }
    }
}

/// The data home of a service when none is named: `%ProgramData%\Deposit` (machine-wide; the
/// service account's own folder, made owner-only by the service on first start).
#[cfg_attr(not(windows), allow(dead_code))]
pub fn default_service_home() -> PathBuf {
    std::env::var_os("ProgramData")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"))
        .join("Deposit")
}

/// The arguments the service manager starts `deposit.exe` with: `service run KIND --home DIR --
/// ARGS…` (the kind by its command-line name, which `service run` parses).
#[cfg_attr(not(windows), allow(dead_code))]
pub fn launch_args(which: ServiceKind, home: &Path, args: Vec<String>) -> Vec<std::ffi::OsString> {
    let mut launch: Vec<std::ffi::OsString> = vec![
        "service".into(),
        "run".into(),
        which.arg_name().into(),
        "--home".into(),
        home.as_os_str().to_owned(),
        "--".into(),
    ];
    launch.extend(args.into_iter().map(Into::into));
    launch
}

/// Before logging is set up for `service run`: the data home and the configuration of the
/// service are those it was installed with (the service account has no `DEPOSIT_HOME`).
pub fn prepare_run(home: &Path) {
    std::env::set_var("DEPOSIT_HOME", home);
    if std::env::var_os("DEPOSIT_CONFIG").is_none() {
        std::env::set_var("DEPOSIT_CONFIG", home.join("deposit.toml"));
    }
}

#[cfg(not(windows))]
fn not_here() -> ApiError {
    ApiError::usage(
        "service.not_windows",
        "`deposit service` manages Windows services; on Linux the packages install the systemd \
         units deposit-receive.service and deposit-web.service (systemctl enable --now …)",
    )
}

pub fn run(action: ServiceAction) -> Result<u8, ApiError> {
    #[cfg(windows)]
    {
        win::run(action)
    }
    #[cfg(not(windows))]
    {
        let _ = action;
        Err(not_here())
    }
}

#[cfg(windows)]
mod win {
    //! The service manager's side, through the `windows-service` crate.
    use std::ffi::OsString;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use clap::Parser as _;
    use windows_service::service::{
        ServiceAccess, ServiceControl, ServiceControlAccept, ServiceErrorControl, ServiceExitCode,
        ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
    };
    use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
    use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
    use windows_service::{define_windows_service, service_dispatcher};

    use super::super::args::{Cli, Command, ServiceAction, ServiceKind};
    use super::default_service_home;
    use crate::error::ApiError;

    fn failed(what: &str, e: windows_service::Error) -> ApiError {
        let hint = match &e {
            windows_service::Error::Winapi(io) if io.raw_os_error() == Some(5) => {
                " (access denied: run it from an administrator's command prompt)"
            }
            _ => "",
        };
        ApiError::permanent("service.failed", format!("{what}: {e}{hint}"))
    }

    fn manager(access: ServiceManagerAccess) -> Result<ServiceManager, ApiError> {
        ServiceManager::local_computer(None::<&str>, access)
            .map_err(|e| failed("cannot open the service manager", e))
    }

    pub(super) fn run(action: ServiceAction) -> Result<u8, ApiError> {
        match action {
            ServiceAction::Install { which, home, args } => install(which, home, args),
            ServiceAction::Uninstall { which } => {
                let m = manager(ServiceManagerAccess::CONNECT)?;
                let s = m
                    .open_service(
                        which.service_name(),
                        ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE,
                    )
                    .map_err(|e| failed("cannot open the service", e))?;
                let _ = s.stop();
                s.delete()
                    .map_err(|e| failed("cannot remove the service", e))?;
                eprintln!("deposit: service {} removed", which.service_name());
                Ok(super::super::EXIT_OK)
            }
            ServiceAction::Start { which } => {
                let m = manager(ServiceManagerAccess::CONNECT)?;
                let s = m
                    .open_service(
                        which.service_name(),
                        ServiceAccess::START | ServiceAccess::QUERY_STATUS,
                    )
                    .map_err(|e| failed("cannot open the service", e))?;
                match s.start::<&str>(&[]) {
                    Ok(()) => {}
                    // ERROR_SERVICE_ALREADY_RUNNING: started at boot, or by someone else
                    Err(windows_service::Error::Winapi(io)) if io.raw_os_error() == Some(1056) => {}
                    Err(e) => return Err(failed("cannot start the service", e)),
                }
                wait_for(&s, ServiceState::Running)?;
                eprintln!("deposit: service {} running", which.service_name());
                Ok(super::super::EXIT_OK)
            }
            ServiceAction::Stop { which } => {
                let m = manager(ServiceManagerAccess::CONNECT)?;
                let s = m
                    .open_service(
                        which.service_name(),
                        ServiceAccess::STOP | ServiceAccess::QUERY_STATUS,
                    )
                    .map_err(|e| failed("cannot open the service", e))?;
                s.stop().map_err(|e| failed("cannot stop the service", e))?;
                wait_for(&s, ServiceState::Stopped)?;
                eprintln!("deposit: service {} stopped", which.service_name());
                Ok(super::super::EXIT_OK)
            }
            // (its --home became DEPOSIT_HOME before logging started: `prepare_run`)
            ServiceAction::Run { which, args, .. } => run_service(which, args),
        }
    }

    fn wait_for(s: &windows_service::service::Service, want: ServiceState) -> Result<(), ApiError> {
        // a receiver lets associations in flight finish: up to its data-set deadline
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let st = s
                .query_status()
                .map_err(|e| failed("cannot ask the service's state", e))?;
            if st.current_state == want {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(ApiError::permanent(
                    "service.timeout",
                    format!("the service is still {:?}", st.current_state),
                ));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn install(
        which: ServiceKind,
        home: Option<std::path::PathBuf>,
        args: Vec<String>,
    ) -> Result<u8, ApiError> {
        // the arguments must be those of the command: checked now, not at the next boot
        let mut argv = vec!["deposit".to_string(), which.command().to_string()];
        argv.extend(args.iter().cloned());
        Cli::try_parse_from(&argv).map_err(|e| {
            ApiError::usage(
                "service.args",
                format!("not arguments of `deposit {}`: {e}", which.command()),
            )
        })?;
        let home = home.unwrap_or_else(default_service_home);
        let exe = std::env::current_exe().map_err(|e| {
            ApiError::permanent("service.exe", format!("cannot find deposit.exe: {e}"))
        })?;
        let launch = super::launch_args(which, &home, args);
        let info = ServiceInfo {
            name: which.service_name().into(),
            display_name: which.display_name().into(),
            service_type: ServiceType::OWN_PROCESS,
            start_type: ServiceStartType::AutoStart,
            error_control: ServiceErrorControl::Normal,
            executable_path: exe,
            launch_arguments: launch,
            dependencies: vec![],
            account_name: None,
            account_password: None,
        };
        let m = manager(ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE)?;
        let s = m
            .create_service(&info, ServiceAccess::CHANGE_CONFIG)
            .map_err(|e| failed("cannot register the service", e))?;
        let _ = s.set_description(which.description());
        eprintln!(
            "deposit: service {} installed (starts at boot; data home {}; log in its logs\\); \
             start it now with `deposit service start {}`",
            which.service_name(),
            home.display(),
            which.arg_name()
        );
        Ok(super::super::EXIT_OK)
    }

    /// What the service's thread runs: the command, until the stop flag is set.
    type Work = Box<dyn FnOnce(&AtomicBool) -> Result<u8, ApiError> + Send>;

    static WORK: Mutex<Option<(ServiceKind, Work)>> = Mutex::new(None);

    fn run_service(which: ServiceKind, args: Vec<String>) -> Result<u8, ApiError> {
        let mut argv = vec!["deposit".to_string(), which.command().to_string()];
        argv.extend(args);
        let mut cli = Cli::try_parse_from(&argv).map_err(|e| {
            ApiError::usage("service.args", format!("the service's arguments: {e}"))
        })?;
        super::super::settings::resolve(&mut cli.common, &cli.command)?;
        let common = cli.common;
        let work: Work = match cli.command {
            Command::Receive { flags } => {
                Box::new(move |stop| super::super::receive::run_until(&common, flags, stop))
            }
            Command::Serve { bind, port, ui } => {
                Box::new(move |stop| super::super::serve::run_until(&common, &bind, port, ui, stop))
            }
            _ => return Err(ApiError::usage("service.args", "not a service command")),
        };
        *WORK.lock().unwrap_or_else(|p| p.into_inner()) = Some((which, work));
        service_dispatcher::start(which.service_name(), ffi_service_main).map_err(|e| {
            failed(
                "not started by the service manager (use `deposit service start`)",
                e,
            )
        })?;
        Ok(super::super::EXIT_OK)
    }

    define_windows_service!(ffi_service_main, service_main);

    fn service_main(_: Vec<OsString>) {
        let Some((which, work)) = WORK.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handler = move |event| match event {
            ServiceControl::Stop | ServiceControl::Shutdown => {
                flag.store(true, Ordering::SeqCst);
                ServiceControlHandlerResult::NoError
            }
            ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
            _ => ServiceControlHandlerResult::NotImplemented,
        };
        let Ok(status) = service_control_handler::register(which.service_name(), handler) else {
            tracing::error!("cannot register with the service manager");
            return;
        };
        let report = |state, accept, code: u32, wait: u64| {
            let _ = status.set_service_status(ServiceStatus {
                service_type: ServiceType::OWN_PROCESS,
                current_state: state,
                controls_accepted: accept,
                exit_code: ServiceExitCode::Win32(code),
                checkpoint: 0,
                wait_hint: Duration::from_secs(wait),
                process_id: None,
            });
        };
        report(
            ServiceState::Running,
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN,
            0,
            0,
        );
        tracing::info!(service = which.service_name(), "service running");
        // the work runs here; a stop request sets the flag, the receiver lets associations in
        // flight finish (StopPending meanwhile)
        let watcher = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(200));
                }
                let _ = status.set_service_status(ServiceStatus {
                    service_type: ServiceType::OWN_PROCESS,
                    current_state: ServiceState::StopPending,
                    controls_accepted: ServiceControlAccept::empty(),
                    exit_code: ServiceExitCode::Win32(0),
                    checkpoint: 1,
                    wait_hint: Duration::from_secs(90),
                    process_id: None,
                });
            })
        };
        let result = work(&stop);
        stop.store(true, Ordering::SeqCst);
        let _ = watcher.join();
        let code = match &result {
            Ok(_) => 0,
            Err(e) => {
                tracing::error!(code = e.code, "service ended: {}", e.message);
                1
            }
        };
        tracing::info!(service = which.service_name(), "service stopped");
        report(
            ServiceState::Stopped,
            ServiceControlAccept::empty(),
            code,
            0,
        );
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::args::{Cli, Command};

    /// Regression: the web UI service was registered as `service run serve …`, which `service
    /// run` refused, so the service manager's start failed before the service said anything.
    #[test]
    fn what_the_service_manager_runs_parses_back_to_the_same_service() {
        for (which, args) in [
            (
                ServiceKind::Receive,
                vec!["--port", "11112", "--aet", "DEPOSIT"],
            ),
            (
                ServiceKind::Web,
                vec!["--bind", "127.0.0.1", "--port", "8080"],
            ),
        ] {
            let args: Vec<String> = args.into_iter().map(String::from).collect();
            let mut argv: Vec<std::ffi::OsString> = vec!["deposit".into()];
            argv.extend(launch_args(which, Path::new("/srv/deposit"), args.clone()));
            let cli = Cli::try_parse_from(&argv).expect("the launch arguments parse");
            let Command::Service {
                action:
                    ServiceAction::Run {
                        which: parsed,
                        home,
                        args: passed,
                    },
            } = cli.command
            else {
                panic!("not `service run`: {:?}", cli.command);
            };
            assert_eq!(parsed, which);
            assert_eq!(home, Path::new("/srv/deposit"));
            assert_eq!(passed, args);
            // and the command's own arguments are those of the command the service runs
            let mut own = vec!["deposit".to_string(), which.command().to_string()];
            own.extend(passed);
            Cli::try_parse_from(&own).expect("the command's arguments parse");
        }
    }
}
