//! `deposit-synth`: writes a synthetic DICOM corpus with identity canaries and its manifest.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: deposit-synth --out DIR [--seed N] [--patients N] [--ct-slices N] \
[--rows N --cols N] [--bulk N [--per-study N]]\n\
  default: a mixed corpus (CT, burned-in US, US multi-frame, SR; UTF-8 and Latin-1 patients)\n\
  --bulk N: N CT files only (512x512 unless --rows/--cols), for benchmarks, one study per\n\
            patient of up to --per-study files (default 200)\n\
  writes DIR/manifest.json (canaries, placements, counts, burned-in rectangles)\n\
\n\
usage: deposit-synth midi --out DIR [--seed N] [--samples DIR]\n\
  the hard (MIDI-B style) corpus: DIR/dicom/, DIR/midi-manifest.json, DIR/lookup.csv,\n\
  DIR/masks.toml; real JPEG/J2K frames come from the sample corpus (default $DEPOSIT_SAMPLES)\n\
\n\
usage: deposit-synth score --corpus DIR --output DIR [--mode M] [--held FILE] [--tool NAME] [--json]\n\
  scores a de-identified copy of the hard corpus; M = default, masks, lookup, ctp or shifted\n\
  (whose expectations apply); --held: a `deposit deid --json` report, to check reason codes";

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
    match args.first().map(String::as_str) {
        Some("midi") => return midi(args.into_iter().skip(1).collect()),
        Some("score") => return score(args.into_iter().skip(1).collect()),
        _ => {}
    }
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

fn midi(args: Vec<String>) -> Result<(), String> {
    let mut out: Option<PathBuf> = None;
    let mut seed = 1;
    let mut samples: Option<PathBuf> = std::env::var_os("DEPOSIT_SAMPLES").map(PathBuf::from);
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = Some(it.next().ok_or(USAGE)?.into()),
            "--seed" => seed = num(it.next(), "--seed")?,
            "--samples" => samples = Some(it.next().ok_or(USAGE)?.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let out = out.ok_or_else(|| format!("--out DIR is required\n{USAGE}"))?;
    let samples =
        samples.ok_or_else(|| format!("--samples DIR or DEPOSIT_SAMPLES is required\n{USAGE}"))?;
    let m = deposit_synth::midi::generate_midi(&out, seed, &samples).map_err(|e| e.to_string())?;
    let checks: usize =
        m.placements.iter().map(|p| p.objects.len()).sum::<usize>() + m.checks.len();
    println!(
        "wrote {} objects of {} patients: {} placements, {} retention checks, ~{} checks -> {}",
        m.objects.len(),
        m.patients.len(),
        m.placements.len(),
        m.checks.len(),
        checks + m.objects.len(),
        out.display()
    );
    Ok(())
}

fn score(args: Vec<String>) -> Result<(), String> {
    let (mut corpus, mut output, mut held): (Option<PathBuf>, Option<PathBuf>, Option<PathBuf>) =
        (None, None, None);
    let mut mode = "default".to_string();
    let mut tool = "tool".to_string();
    let mut json = false;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--corpus" => corpus = Some(it.next().ok_or(USAGE)?.into()),
            "--output" => output = Some(it.next().ok_or(USAGE)?.into()),
            "--held" => held = Some(it.next().ok_or(USAGE)?.into()),
            "--mode" => mode = it.next().ok_or(USAGE)?,
            "--tool" => tool = it.next().ok_or(USAGE)?,
            "--json" => json = true,
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let corpus = corpus.ok_or_else(|| format!("--corpus DIR is required\n{USAGE}"))?;
    let output = output.ok_or_else(|| format!("--output DIR is required\n{USAGE}"))?;
    let held = match held {
        Some(p) => {
            Some(deposit_synth::midi::score::held_from_report(&p).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let r = deposit_synth::midi::score::score(&corpus, &output, &mode, held.as_deref())
        .map_err(|e| e.to_string())?;
    if json {
        println!("{}", serde_json::to_string(&r).map_err(|e| e.to_string())?);
    } else {
        print!("{}", deposit_synth::midi::score::render(&r, &tool));
    }
    Ok(())
}
