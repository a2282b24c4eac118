//! Reads an SBOM and writes the four exports and a NOTICE into a directory,
//! printing the warnings: `cargo run -p evident-sbom --example convert -- IN OUTDIR`.

use evident_sbom::{ExportFormat, NoticeFormat, Release};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (input, out) = (&args[1], std::path::Path::new(&args[2]));
    let bytes = std::fs::read(input).expect("read input");
    let t = std::time::Instant::now();
    let ing = match evident_sbom::ingest(&bytes) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("rejected: {e}");
            std::process::exit(2);
        }
    };
    eprintln!(
        "ingest {:?} components={} warnings={}",
        t.elapsed(),
        ing.model.components.len(),
        ing.warnings.len()
    );
    for w in ing.warnings.iter().take(5) {
        eprintln!("  warning {}: {}", w.at, w.message);
    }
    let release = Release {
        tenant: "demo".into(),
        product: "demo-product".into(),
        tag: "v1.0.0".into(),
        revision: 1,
        artefacts: vec![("demo.tar.gz".into(), "ab".repeat(32))],
        pushed_at: 1_790_000_000,
        spdx_namespace: Release::namespace_for(
            "https://evident.example",
            "demo",
            "demo-product",
            "v1.0.0",
            1,
        ),
        tool_version: env!("CARGO_PKG_VERSION").into(),
    };
    std::fs::create_dir_all(out).expect("mkdir");
    for f in ExportFormat::ALL {
        let t = std::time::Instant::now();
        let b = f.write(&ing.model, &release);
        eprintln!("{} {:?} {} bytes", f.name(), t.elapsed(), b.len());
        std::fs::write(out.join(release.file_name(f)), b).expect("write");
    }
    std::fs::write(
        out.join("NOTICE.html"),
        NoticeFormat::Html.write(&ing.model, &release),
    )
    .expect("write");
}
