//! Deposit's integration tests, gathered into one test binary (one link instead of one per
//! file): flows across modules and against real peers, each file a module. Peers missing fail the
//! run when `DEPOSIT_REQUIRE_PEERS=1` (CI) and skip with a message otherwise.

mod support;

mod archive_view;
mod compare;
mod compressed;
mod config;
mod ctp;
mod ctp_http;
mod ctp_real;
mod deid;
mod deid_corpus;
mod exactly_once;
mod front_end;
mod fuzz_replay;
mod header_once;
mod hostile;
mod keyring;
mod kill;
mod layers;
mod masks;
mod midi;
mod orthanc;
mod orthanc_acks;
mod pixels;
mod proxy;
mod queue_control;
mod receive;
mod receive_hostile;
mod report;
mod review;
mod scan;
mod send;
mod tls;
mod un_everywhere;
mod web;
// drives the Windows build under wine from Linux
#[cfg(unix)]
mod windows;
mod xnat;
