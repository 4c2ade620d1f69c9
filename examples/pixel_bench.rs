//! Timing harness for benches/preview.sh: preview latency (decode frame 0, render, PNG) per
//! file and masking throughput (decode all frames, mask, write back) — medians of N runs.
//!
//! `pixel_bench preview N FILE...` prints `FILE<TAB>median_ms`;
//! `pixel_bench mask N FILE` prints `FILE<TAB>median_ms<TAB>frames`.

use std::path::Path;
use std::time::Instant;

use deposit::pixels::{self, MaskLibrary};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, n) = match args.as_slice() {
        [m, n, ..] => (m.as_str(), n.parse::<usize>()?.max(1)),
        _ => anyhow::bail!("usage: pixel_bench preview|mask N FILE..."),
    };
    for f in &args[2..] {
        let path = Path::new(f);
        let mut times = Vec::with_capacity(n);
        let mut frames = 0;
        for _ in 0..n {
            match mode {
                "preview" => {
                    let t = Instant::now();
                    let (r, _) = pixels::preview(path, 0, None, None)?;
                    let png = pixels::render::to_png(&r)?;
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                    std::hint::black_box(png);
                }
                "open" => {
                    let t = Instant::now();
                    let obj = pixels::open(path)?;
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                    std::hint::black_box(obj);
                }
                "decode" => {
                    let obj = pixels::open(path)?;
                    let t = Instant::now();
                    let img = pixels::decode(&obj, Some(0))?;
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                    std::hint::black_box(img);
                }
                "mask" => {
                    let lib = MaskLibrary::parse(
                        "[[rule]]\nname = \"bench\"\nregions = [[0, 0, 200, 60], [-120, -40, 120, 40]]\nwhere = 'Rows.isGreaterThan(\"0\")'\n",
                        "bench",
                    )
                    .map_err(anyhow::Error::msg)?;
                    let mut obj = pixels::open(path)?;
                    let t = Instant::now();
                    let m = pixels::mask_object(&mut obj, &lib)?;
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                    anyhow::ensure!(m.is_some(), "the bench rule did not apply");
                    frames = pixels::decode(&obj, None)?.frames;
                }
                _ => anyhow::bail!("unknown mode {mode}"),
            }
        }
        if mode == "mask" {
            println!("{f}\t{:.2}\t{frames}", median(times));
        } else {
            println!("{f}\t{:.2}", median(times));
        }
    }
    Ok(())
}
