//! `deposit-synth`: writes a synthetic DICOM corpus with identity canaries and its manifest.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: deposit-synth --out DIR [--seed N] [--patients N] [--ct-slices N] \
[--rows N --cols N] [--bulk N [--per-study N]]\n\
  default: a mixed corpus (CT, burned-in US, US multi-frame, SR; UTF-8 and Latin-1 patients)\n\
  --bulk N: N CT files only (512x512 unless --rows/--cols), for benchmarks, one study per\n\
            patient of up to --per-study files (default 200)\n\
  writes DIR/manifest.json (canaries, placements, counts, burned-in rectangles)";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("deposit-synth: {msg}");
            ExitCode::from(2)
        }
    }
}

fn num(v: Option<String>, flag: &str) -> Result<u64, String> {
    v.ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?
        .parse()
        .map_err(|_| format!("{flag} needs a whole number\n{USAGE}"))
}

fn run(args: Vec<String>) -> Result<(), String> {
    let mut cfg = deposit_synth::Config::default();
    let mut out: Option<PathBuf> = None;
    let mut bulk: Option<usize> = None;
    let mut per_study = deposit_synth::BULK_SERIES_SIZE;
    let (mut rows, mut cols) = (None, None);
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = Some(it.next().ok_or(USAGE)?.into()),
            "--seed" => cfg.seed = num(it.next(), "--seed")?,
            "--patients" => cfg.patients = num(it.next(), "--patients")? as usize,
            "--ct-slices" => cfg.ct_slices = num(it.next(), "--ct-slices")? as usize,
            "--rows" => rows = Some(num(it.next(), "--rows")? as usize),
            "--cols" => cols = Some(num(it.next(), "--cols")? as usize),
            "--bulk" => bulk = Some(num(it.next(), "--bulk")? as usize),
            "--per-study" => per_study = num(it.next(), "--per-study")? as usize,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let out = out.ok_or_else(|| format!("--out DIR is required\n{USAGE}"))?;
    let m = match bulk {
        Some(n) => deposit_synth::generate_bulk_studies(
            &out,
            n,
            cfg.seed,
            rows.unwrap_or(512),
            cols.unwrap_or(512),
            per_study,
        ),
        None => {
            cfg.rows = rows.unwrap_or(cfg.rows);
            cfg.cols = cols.unwrap_or(cfg.cols);
            deposit_synth::generate(&out, &cfg)
        }
    }
    .map_err(|e| e.to_string())?;
    println!(
        "wrote {} files: {} patients, {} studies, {} series, {} instances, {} canaries -> {}",
        m.counts.files,
        m.counts.patients,
        m.counts.studies,
        m.counts.series,
        m.counts.instances,
        m.canaries.len(),
        out.display()
    );
    Ok(())
}
