//! A real browser for tests: Chromium from Debian's packages, headless, installed by
//! `scripts/browser.sh` (which `make test` runs). A missing Chromium fails the test
//! that needs it, saying how to install it: such a test never passes silently.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What Chromium made of a page.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The DOM after the page's scripts ran, serialized (`--dump-dom`).
    pub dom: String,
    /// Every message the page wrote to the console, uncaught errors included
    /// (Chromium's log lines tagged `CONSOLE`).
    pub console: Vec<String>,
}

/// The Chromium binary; panics with the install command when there is none.
pub fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        let found = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file());
        if let Some(path) = found {
            return path;
        }
    }
    panic!(
        "Chromium is not installed: run `bash scripts/browser.sh` (Debian's `chromium` package) \
         and run the test again"
    );
}

/// Runs headless Chromium on the local file `page` with `arguments`. Each run gets its
/// own profile folder, so that tests may run at once. `--no-sandbox`: CI runs as root,
/// where Chromium's sandbox refuses to start; the page is the test's own file.
fn run(page: &Path, arguments: &[String]) -> Output {
    let profile = tempfile::tempdir().expect("a profile folder");
    let page = page.canonicalize().expect("the page exists");
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            &format!("--user-data-dir={}", profile.path().display()),
        ])
        .args(arguments)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The page's DOM once its scripts ran, and what it wrote to the console.
pub fn render(page: &Path) -> Rendered {
    let output = run(page, &["--dump-dom".to_owned()]);
    Rendered {
        dom: String::from_utf8_lossy(&output.stdout).into_owned(),
        console: console_messages(&String::from_utf8_lossy(&output.stderr)),
    }
}

/// Saves a `width`×`height` screenshot of the page to `png`.
pub fn screenshot(page: &Path, png: &Path, width: u32, height: u32) {
    if let Some(folder) = png.parent() {
        std::fs::create_dir_all(folder).expect("the screenshot's folder");
    }
    run(
        page,
        &[
            format!("--window-size={width},{height}"),
            format!("--screenshot={}", png.display()),
        ],
    );
    let size = std::fs::metadata(png).map(|meta| meta.len()).unwrap_or(0);
    assert!(size > 0, "no screenshot at {}", png.display());
}

/// The console lines of Chromium's log: `[...:INFO:CONSOLE:1] "message", source: ...`
/// (older versions: `INFO:CONSOLE(1)`).
fn console_messages(log: &str) -> Vec<String> {
    log.lines()
        .filter(|line| line.contains(":CONSOLE"))
        .filter_map(|line| line.split_once("] ").map(|(_, message)| message.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_are_picked_from_the_log() {
        let log = "[1:1:1203/120930.98:INFO:CONSOLE:1] \"fine\", source: file:///p.html (1)\n\
                   [1:1:1203/120930.99:ERROR:dbus/object_proxy.cc:572] Failed to call method\n\
                   [1:1:1203/120931.00:INFO:CONSOLE(3)] \"Uncaught Error: boom\", source: file:///p.html (3)\n";
        assert_eq!(
            console_messages(log),
            [
                "\"fine\", source: file:///p.html (1)",
                "\"Uncaught Error: boom\", source: file:///p.html (3)"
            ]
        );
    }
}
