//! The fuzz targets (`src/fuzzing.rs`) in the test command, for a bounded
//! time: each target gets every kept input (`fuzz/seeds/TARGET/` and the
//! crashes found so far, `fuzz/regressions/TARGET/`), then mutations of
//! them for `FUZZ_SECONDS` (default 2) seconds. Deterministic per target
//! (the mutator's seed is the target's name), so a failure here repeats.
//! A failing input is written to `target/fuzz-failures/` and named in the
//! failure, to be kept in `fuzz/regressions/TARGET/` once fixed.
//!
//! The long, coverage-guided runs are libFuzzer's: `scripts/fuzz.sh`.

use ecsbox::fuzzing::{Target, TARGETS};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `dir`, sorted by name (none when it does not exist).
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect();
    out.sort();
    out
}

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn seeded(name: &str) -> Rng {
        // FNV-1a of the name: the same sequence on every run.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        Rng(h | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Tokens the decoders and languages give meaning to: inserting one is a
/// bigger step than flipping bits.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"null",
    b"true",
    b"-1",
    b"0",
    b"1e309",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"0.0000001",
    b"\\u0000",
    b"\\ud800",
    b"*",
    b"?",
    b"%",
    b"&",
    b"=",
    b".",
    b"..",
    b"/",
    b"$",
    b"(",
    b")",
    b"!",
    b"#",
    b"\n",
    b"\xff\xfe",
    b"\xc3\xa9",
    b"\xf0\x9f\x98\x80",
    b"member.1",
    b".1",
    b"&Action=",
    b"=~",
    b" in [",
    b" and ",
    b" or ",
    b"not(",
    b"exists",
    b"{ $.",
    b" = ",
    b" && ",
    b"[0]",
    b"\"prefix\":",
    b"\"numeric\":[",
    b"\"anything-but\":",
    b"\"$or\":[",
    b"cron(",
    b"rate(",
    b"at(",
    b"L",
    b"W",
    b"#",
    b"sha256:",
    b"\xc0\x0c",
    b"\x00\x00",
    b"\xbf",
    b"\xff",
];

const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'"', b'\\', b'{', b'[', b'9', b'-', b'\n',
];

/// One to four mutations of a kept input (or of two spliced together).
fn mutate(rng: &mut Rng, inputs: &[(PathBuf, Vec<u8>)]) -> Vec<u8> {
    let mut data = inputs[rng.below(inputs.len())].1.clone();
    for _ in 0..=rng.below(4) {
        let len = data.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                let token = TOKENS[rng.below(TOKENS.len())];
                data.splice(i..i, token.iter().copied());
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                data.drain(i..i + n);
            }
            4 if len > 0 => {
                // A run repeated: long names, deep nesting, big lists.
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(32));
                let run = data[i..i + n].to_vec();
                for _ in 0..1 + rng.below(64) {
                    data.splice(i..i, run.iter().copied());
                }
            }
            5 => {
                let other = &inputs[rng.below(inputs.len())].1;
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            6 if len > 0 => {
                data.truncate(rng.below(len));
            }
            _ => {
                let i = rng.below(len + 1);
                data.insert(i, rng.next() as u8);
            }
        }
    }
    data
}

/// Runs `target` on `data`; on a panic, saves the input and says where.
fn run_one(target: &Target, data: &[u8]) -> Result<(), String> {
    let run = target.run;
    match std::panic::catch_unwind(|| run(data)) {
        Ok(()) => Ok(()),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let dir = root().join("target/fuzz-failures").join(target.name);
            std::fs::create_dir_all(&dir).unwrap();
            let mut rng = Rng::seeded(&String::from_utf8_lossy(data));
            let path = dir.join(format!("{:016x}", rng.next()));
            std::fs::write(&path, data).unwrap();
            Err(format!(
                "{} panicked ({why}) on the input saved at {}",
                target.name,
                path.display()
            ))
        }
    }
}

fn budget() -> Duration {
    let seconds = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(2.0);
    Duration::from_secs_f64(seconds)
}

/// Panics on the app's own threads (its controllers, spawned by a
/// request): `catch_unwind` does not see them, so a hook records them.
static BACKGROUND_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn watch_background_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            if thread
                .name()
                .is_some_and(|n| n.starts_with("tokio-runtime"))
            {
                BACKGROUND_PANICS.lock().unwrap().push(info.to_string());
            }
            default(info);
        }));
    });
}

fn fuzz(name: &str) {
    watch_background_panics();
    let target = TARGETS
        .iter()
        .find(|t| t.name == name)
        .expect("a target of that name");
    let seeds = files(&root().join("fuzz/seeds").join(name));
    assert!(!seeds.is_empty(), "{name} has no seed in fuzz/seeds/{name}");
    let regressions = files(&root().join("fuzz/regressions").join(name));
    let mut failures = Vec::new();
    for (path, data) in seeds.iter().chain(&regressions) {
        if let Err(e) = run_one(target, data) {
            failures.push(format!("{e} (kept input {})", path.display()));
        }
    }
    let mut rng = Rng::seeded(name);
    let deadline = Instant::now() + budget();
    let mut mutations = 0u64;
    while Instant::now() < deadline && failures.len() < 5 {
        let input = mutate(&mut rng, &seeds);
        if let Err(e) = run_one(target, &input) {
            failures.push(e);
        }
        mutations += 1;
    }
    println!(
        "{name}: {} kept inputs, {mutations} mutations",
        seeds.len() + regressions.len()
    );
    failures.extend(BACKGROUND_PANICS.lock().unwrap().drain(..));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One test per target, so each is named in the results.
macro_rules! targets {
    ($($name:ident),* $(,)?) => {
        $(#[test] fn $name() { fuzz(stringify!($name)); })*

        #[test]
        fn every_target_has_a_test_here() {
            let here = [$(stringify!($name)),*];
            for t in TARGETS {
                assert!(here.contains(&t.name), "add {} to tests/fuzz_bounded.rs", t.name);
                let libfuzzer = root().join("fuzz/fuzz_targets").join(format!("{}.rs", t.name));
                assert!(libfuzzer.is_file(), "add {} for libFuzzer", libfuzzer.display());
            }
        }
    };
}

targets!(
    api_json,
    api_query,
    api_cbor,
    api_rest_json,
    content_encoding,
    sigv4,
    placement_expression,
    log_filter_pattern,
    event_pattern,
    schedule_expression,
    ecr_lifecycle_policy,
    image_manifest,
    dns_message,
);
