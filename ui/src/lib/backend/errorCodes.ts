// Generated from the engine's source by src-tauri/tests/error_codes.rs; do not edit.
// Regenerate with `DEPOSIT_UPDATE_BINDINGS=1 cargo test -p deposit-app --test error_codes`.

/** Every code an error from the engine can carry (`ApiError.code`). */
export type ErrorCode =
  | "app.busy"
  | "app.state"
  | "app.thread"
  | "archive.bad_destination"
  | "archive.bad_label"
  | "archive.bad_quality"
  | "archive.no_destination"
  | "archive.no_secret"
  | "archive.no_user"
  | "archive.plain_http"
  | "archive.read_archive"
  | "archive.read_outbox"
  | "archive.record"
  | "archive.rejected"
  | "archive.tls_refused"
  | "archive.unreachable"
  | "archive.write"
  | "archive_view.cache"
  | "catalog.migrate"
  | "catalog.no_instance"
  | "catalog.open"
  | "catalog.permissions"
  | "catalog.query"
  | "catalog.sql"
  | "catalog.too_new"
  | "cli.json"
  | "cli.stdout"
  | "cli.uid_root"
  | "cli.usage"
  | "compare.no_approval"
  | "compare.site_key"
  | "config.choose_study"
  | "config.invalid"
  | "config.missing"
  | "config.no_dir"
  | "config.read"
  | "config.syntax"
  | "config.uid_root"
  | "config.unknown_study"
  | "config.write"
  | "credentials.keyring"
  | "deid.ctp_script_invalid"
  | "deid.lookup_bad_entry"
  | "deid.lookup_bad_line"
  | "deid.lookup_empty"
  | "deid.lookup_encoding"
  | "deid.lookup_exists"
  | "deid.lookup_read"
  | "deid.lookup_write"
  | "deid.out_dir"
  | "deid.profile_invalid"
  | "deid.profile_read"
  | "deid.profile_unknown"
  | "deid.quarantine_copy"
  | "deid.threads"
  | "deid.unreadable"
  | "destination.bad_fingerprint"
  | "destination.unknown"
  | "fetch.failed"
  | "fetch.folder"
  | "fetch.md5"
  | "fetch.no_folder"
  | "fetch.no_subject"
  | "fetch.not_in_archive"
  | "fetch.nothing"
  | "fetch.scans_need_session"
  | "fetch.size"
  | "fetch.write"
  | "home.bad_key"
  | "home.no_data_dir"
  | "home.prepare"
  | "http.client"
  | "http.connection"
  | "http.proxy_refused"
  | "http.request"
  | "http.timeout"
  | "http.tls_refused"
  | "intake.no_paths"
  | "intake.not_found"
  | "intake.unreadable_root"
  | "login.usage"
  | "masks.bad_name"
  | "masks.bad_regions"
  | "masks.duplicate_name"
  | "masks.duplicate_signature"
  | "masks.export"
  | "masks.no_pixels"
  | "masks.no_such_rule"
  | "masks.site_io"
  | "masks.unreadable"
  | "masks.who"
  | "pipeline.write"
  | "pixels.mask_file"
  | "pixels.no_pixels"
  | "pixels.no_such_frame"
  | "pixels.ocr"
  | "pixels.ocr_unavailable"
  | "pixels.png"
  | "pixels.png_write"
  | "pixels.undecodable"
  | "pixels.unreadable"
  | "pixels.unsupported"
  | "profile.ack_reason_missing"
  | "profile.approver_missing"
  | "profile.linkage_break"
  | "profile.linkage_unchecked"
  | "profile.not_approved"
  | "proxy.bad_setting"
  | "proxy.refused"
  | "proxy.usage"
  | "quarantine.not_found"
  | "quarantine.not_held"
  | "quarantine.release"
  | "quarantine.release_target"
  | "quarantine.write"
  | "queue.corrupt"
  | "queue.store"
  | "queue.transition"
  | "queue.usage"
  | "reach.destination_not_configured"
  | "reach.outside_roots"
  | "reach.receiver_allow"
  | "receive.bad_option"
  | "receive.catalog"
  | "receive.listen"
  | "receive.route_destination"
  | "receive.running"
  | "receive.signals"
  | "receive.spool"
  | "receive.state"
  | "receive.thread"
  | "report.date"
  | "report.period"
  | "report.unknown_study"
  | "report.utc_offset"
  | "report.write"
  | "review.empty"
  | "review.reviewer"
  | "review.sample_size"
  | "review.unknown_instance"
  | "send.extras_ambiguous"
  | "send.extras_without_study"
  | "send.nothing_selected"
  | "send.outbox"
  | "send.resource_name"
  | "send.resource_read"
  | "send.threads"
  | "send.unknown_study"
  | "service.args"
  | "service.exe"
  | "service.failed"
  | "service.not_windows"
  | "service.timeout"
  | "settings.bad_ae"
  | "settings.bad_name"
  | "settings.bad_url"
  | "settings.concurrency"
  | "settings.max_rate"
  | "settings.no_file"
  | "settings.no_lookup"
  | "settings.proxy"
  | "units.duration"
  | "units.rate"
  | "web.args"
  | "web.bad_password"
  | "web.bind"
  | "web.busy"
  | "web.forbidden"
  | "web.host"
  | "web.json"
  | "web.login_required"
  | "web.method"
  | "web.no_ui"
  | "web.origin"
  | "web.password"
  | "web.random"
  | "web.signal"
  | "web.too_many_logins"
  | "web.unknown_command"
  | "web.weak_password";

export const ERROR_CODES: readonly ErrorCode[] = [
  "app.busy",
  "app.state",
  "app.thread",
  "archive.bad_destination",
  "archive.bad_label",
  "archive.bad_quality",
  "archive.no_destination",
  "archive.no_secret",
  "archive.no_user",
  "archive.plain_http",
  "archive.read_archive",
  "archive.read_outbox",
  "archive.record",
  "archive.rejected",
  "archive.tls_refused",
  "archive.unreachable",
  "archive.write",
  "archive_view.cache",
  "catalog.migrate",
  "catalog.no_instance",
  "catalog.open",
  "catalog.permissions",
  "catalog.query",
  "catalog.sql",
  "catalog.too_new",
  "cli.json",
  "cli.stdout",
  "cli.uid_root",
  "cli.usage",
  "compare.no_approval",
  "compare.site_key",
  "config.choose_study",
  "config.invalid",
  "config.missing",
  "config.no_dir",
  "config.read",
  "config.syntax",
  "config.uid_root",
  "config.unknown_study",
  "config.write",
  "credentials.keyring",
  "deid.ctp_script_invalid",
  "deid.lookup_bad_entry",
  "deid.lookup_bad_line",
  "deid.lookup_empty",
  "deid.lookup_encoding",
  "deid.lookup_exists",
  "deid.lookup_read",
  "deid.lookup_write",
  "deid.out_dir",
  "deid.profile_invalid",
  "deid.profile_read",
  "deid.profile_unknown",
  "deid.quarantine_copy",
  "deid.threads",
  "deid.unreadable",
  "destination.bad_fingerprint",
  "destination.unknown",
  "fetch.failed",
  "fetch.folder",
  "fetch.md5",
  "fetch.no_folder",
  "fetch.no_subject",
  "fetch.not_in_archive",
  "fetch.nothing",
  "fetch.scans_need_session",
  "fetch.size",
  "fetch.write",
  "home.bad_key",
  "home.no_data_dir",
  "home.prepare",
  "http.client",
  "http.connection",
  "http.proxy_refused",
  "http.request",
  "http.timeout",
  "http.tls_refused",
  "intake.no_paths",
  "intake.not_found",
  "intake.unreadable_root",
  "login.usage",
  "masks.bad_name",
  "masks.bad_regions",
  "masks.duplicate_name",
  "masks.duplicate_signature",
  "masks.export",
  "masks.no_pixels",
  "masks.no_such_rule",
  "masks.site_io",
  "masks.unreadable",
  "masks.who",
  "pipeline.write",
  "pixels.mask_file",
  "pixels.no_pixels",
  "pixels.no_such_frame",
  "pixels.ocr",
  "pixels.ocr_unavailable",
  "pixels.png",
  "pixels.png_write",
  "pixels.undecodable",
  "pixels.unreadable",
  "pixels.unsupported",
  "profile.ack_reason_missing",
  "profile.approver_missing",
  "profile.linkage_break",
  "profile.linkage_unchecked",
  "profile.not_approved",
  "proxy.bad_setting",
  "proxy.refused",
  "proxy.usage",
  "quarantine.not_found",
  "quarantine.not_held",
  "quarantine.release",
  "quarantine.release_target",
  "quarantine.write",
  "queue.corrupt",
  "queue.store",
  "queue.transition",
  "queue.usage",
  "reach.destination_not_configured",
  "reach.outside_roots",
  "reach.receiver_allow",
  "receive.bad_option",
  "receive.catalog",
  "receive.listen",
  "receive.route_destination",
  "receive.running",
  "receive.signals",
  "receive.spool",
  "receive.state",
  "receive.thread",
  "report.date",
  "report.period",
  "report.unknown_study",
  "report.utc_offset",
  "report.write",
  "review.empty",
  "review.reviewer",
  "review.sample_size",
  "review.unknown_instance",
  "send.extras_ambiguous",
  "send.extras_without_study",
  "send.nothing_selected",
  "send.outbox",
  "send.resource_name",
  "send.resource_read",
  "send.threads",
  "send.unknown_study",
  "service.args",
  "service.exe",
  "service.failed",
  "service.not_windows",
  "service.timeout",
  "settings.bad_ae",
  "settings.bad_name",
  "settings.bad_url",
  "settings.concurrency",
  "settings.max_rate",
  "settings.no_file",
  "settings.no_lookup",
  "settings.proxy",
  "units.duration",
  "units.rate",
  "web.args",
  "web.bad_password",
  "web.bind",
  "web.busy",
  "web.forbidden",
  "web.host",
  "web.json",
  "web.login_required",
  "web.method",
  "web.no_ui",
  "web.origin",
  "web.password",
  "web.random",
  "web.signal",
  "web.too_many_logins",
  "web.unknown_command",
  "web.weak_password",
];

/** Every reason the engine holds a file in quarantine (`QuarantineRow.code`). */
export type HoldCode =
  | "ctp_error"
  | "ctp_quarantine"
  | "ctp_skip"
  | "encapsulated_document"
  | "lookup_missing"
  | "missing_uid"
  | "needs_pixel_review"
  | "residual_identity"
  | "residual_pixel_text"
  | "unreadable";

export const HOLD_CODES: readonly HoldCode[] = [
  "ctp_error",
  "ctp_quarantine",
  "ctp_skip",
  "encapsulated_document",
  "lookup_missing",
  "missing_uid",
  "needs_pixel_review",
  "residual_identity",
  "residual_pixel_text",
  "unreadable",
];
