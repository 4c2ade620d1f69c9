// Profile change: before approving a new profile (or UID root) for an ongoing study, run the
// approved one and the proposed one on sample data in memory and see, attribute by attribute,
// what changes (never the values) and whether the delivered studies keep their pseudonyms, UIDs
// and date shifts. A change that breaks linkage is approved only with a recorded reason.
import { useEffect, useState } from "preact/hooks";
import type { ApiError, ApprovalRecord, ApproveOutcome, Backend, CompareReport, ProfileInfo } from "../lib/backend/backend";
import { formatWhen, plural, shortHash } from "../lib/format";

interface Props {
  backend: Backend;
  /** The folders chosen on the Sources screen: the default sample. */
  folders: string[];
  onError: (e: ApiError) => void;
}

const VALUES: Record<string, string> = { true: "equal", false: "differ" };

export function ProfileChange({ backend, folders, onError }: Props) {
  const [profiles, setProfiles] = useState<ProfileInfo[]>([]);
  const [oldProfile, setOldProfile] = useState("approved");
  const [newProfile, setNewProfile] = useState("");
  const [sample, setSample] = useState(folders.join("\n"));
  const [perSeries, setPerSeries] = useState("2");
  const [uidRoot, setUidRoot] = useState("");
  const [report, setReport] = useState<CompareReport | null>(null);
  const [busy, setBusy] = useState(false);
  const [approver, setApprover] = useState("");
  const [reason, setReason] = useState("");
  const [approved, setApproved] = useState<ApproveOutcome | null>(null);
  const [records, setRecords] = useState<ApprovalRecord[]>([]);

  const loadRecords = async () => {
    const r = await backend.profileApprovals(null);
    if (r.status === "ok") setRecords(r.data);
  };
  useEffect(() => {
    void backend.profiles().then((r) => {
      if (r.status === "ok") setProfiles(r.data);
    });
    void loadRecords();
  }, [backend]);

  const paths = sample
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const n = Number(perSeries);

  const compare = async () => {
    setBusy(true);
    setApproved(null);
    const r = await backend.profileCompare(
      {
        old: oldProfile.trim() || "approved",
        new: newProfile.trim(),
        sample: paths,
        per_series: n > 0 ? n : null,
        seed: null,
        new_uid_root: uidRoot.trim() || null,
        new_lookup: null,
        new_masks: null,
        new_site_key: null,
      },
      null,
    );
    setBusy(false);
    if (r.status === "ok") setReport(r.data);
    else onError(r.error);
  };

  const broken = report?.linkage.verdict === "broken";
  const approve = async () => {
    const r = await backend.approveProfileChecked(
      {
        profile: newProfile.trim(),
        approver: approver.trim() || null,
        sample: paths,
        per_series: n > 0 ? n : null,
        seed: null,
        ack_linkage_break: broken ? reason.trim() : null,
      },
      null,
    );
    if (r.status === "ok") {
      setApproved(r.data);
      await loadRecords();
    } else onError(r.error);
  };
  // a new UID root is not part of a profile: it is set in the study's settings, not approved here
  const canApprove = report !== null && !uidRoot.trim() && oldProfile === "approved" && (!broken || (reason.trim() !== "" && approver.trim() !== ""));

  return (
    <section class="screen" aria-labelledby="profile-change-title" data-testid="screen-profile-change">
      <header>
        <h1 id="profile-change-title">Check a profile change</h1>
        <p class="lead">
          Runs the approved profile and the proposed one on sample data, in memory (nothing is written or sent), and shows what the
          proposed one does differently and whether the studies already delivered keep their pseudonyms, UIDs and date shifts.
        </p>
      </header>
      <div class="card">
        <div class="row">
          <label class="choice">
            In force (OLD)
            <input type="text" data-testid="compare-old" value={oldProfile} onInput={(e) => setOldProfile((e.target as HTMLInputElement).value)} />
          </label>
          <label class="choice grow">
            Proposed (NEW): a profile name or file
            <input
              type="text"
              list="compare-profiles"
              data-testid="compare-new"
              value={newProfile}
              onInput={(e) => setNewProfile((e.target as HTMLInputElement).value)}
            />
            <datalist id="compare-profiles">
              {profiles.map((p) => (
                <option key={p.sha256} value={p.name} />
              ))}
            </datalist>
          </label>
        </div>
        <div class="row">
          <label class="choice grow">
            Sample folders or files (one a line)
            <textarea data-testid="compare-sample" rows={2} value={sample} onInput={(e) => setSample((e.target as HTMLTextAreaElement).value)} />
          </label>
          <label class="choice">
            Files per series
            <input type="text" inputMode="numeric" class="narrow" data-testid="compare-per-series" value={perSeries} onInput={(e) => setPerSeries((e.target as HTMLInputElement).value)} />
          </label>
          <label class="choice">
            New UID root (optional)
            <input type="text" data-testid="compare-uid-root" value={uidRoot} onInput={(e) => setUidRoot((e.target as HTMLInputElement).value)} />
          </label>
        </div>
        <button type="button" class="primary" data-testid="compare-run" disabled={busy || !newProfile.trim() || paths.length === 0} onClick={() => void compare()}>
          {busy ? "Comparing…" : "Compare on the sample"}
        </button>
      </div>
      {report && (
        <div class="card" data-testid="compare-report">
          <h2>
            {report.old.name} <span class="muted small">{shortHash(report.old.sha256)}</span> → {report.new.name}{" "}
            <span class="muted small">{shortHash(report.new.sha256)}</span>
          </h2>
          <p class="muted" data-testid="compare-files">
            {plural(Number(report.files), "file")} compared{report.settings.length > 0 ? ` · also: ${report.settings.join("; ")}` : ""}
          </p>
          <p class={broken ? "banner warn" : "banner ok"} role="status" data-testid="compare-linkage">
            {report.linkage.message}
          </p>
          {report.attributes.length === 0 ? (
            <p data-testid="compare-same-attributes">Every attribute is treated as before.</p>
          ) : (
            <table class="studies" data-testid="compare-attributes">
              <thead>
                <tr>
                  <th>Attribute</th>
                  <th>Tag path</th>
                  <th>Now</th>
                  <th>Proposed</th>
                  <th>Values</th>
                  <th class="num">Files</th>
                </tr>
              </thead>
              <tbody>
                {report.attributes.map((a) => (
                  <tr key={`${a.path} ${a.old} ${a.new} ${String(a.values_equal)}`} data-testid="compare-attribute">
                    <td>{a.keyword}</td>
                    <td>
                      <code style="overflow-wrap: anywhere">{a.path}</code>
                    </td>
                    <td>{a.old}</td>
                    <td>{a.new}</td>
                    <td>{a.values_equal === null ? "—" : VALUES[String(a.values_equal)]}</td>
                    <td class="num">{Number(a.files)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {report.holds.length > 0 && (
            <ul data-testid="compare-holds">
              {report.holds.map((h) => (
                <li key={`${h.old} ${h.new}`} data-testid="compare-hold">
                  now {h.old}, proposed {h.new}: {plural(Number(h.files), "file")}
                </li>
              ))}
            </ul>
          )}
          <div class="row">
            <label class="choice">
              Approved by
              <input type="text" data-testid="approve-approver" value={approver} onInput={(e) => setApprover((e.target as HTMLInputElement).value)} />
            </label>
            {broken && (
              <label class="choice grow">
                Why the linkage break is accepted (recorded with the approval)
                <input type="text" data-testid="approve-ack" value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
              </label>
            )}
            <button type="button" class="primary" data-testid="approve-run" disabled={!canApprove} onClick={() => void approve()}>
              {broken ? "Approve, accepting the linkage break" : "Approve the proposed profile"}
            </button>
          </div>
          {uidRoot.trim() !== "" && <p class="muted small">A new UID root is a study setting (Settings), not part of the profile approved here.</p>}
          {approved && (
            <p class="banner ok" role="status" data-testid="approve-done">
              Approved for study {approved.study}: {approved.profile} (linkage {approved.record.linkage}).
            </p>
          )}
        </div>
      )}
      {records.length > 0 && (
        <section class="card" data-testid="approval-records">
          <h2>Approvals</h2>
          <ul>
            {records.map((a) => (
              <li key={a.id} data-testid="approval-record">
                {formatWhen(Number(a.approved_at))} · study {a.study} · {a.profile} · by <strong>{a.approver || "(not given)"}</strong> · linkage{" "}
                {a.linkage}
                {a.acknowledged ? ` · accepted: ${a.acknowledged}` : ""}
              </li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
