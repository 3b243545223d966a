//! Everything sealpost tells the person, on stderr. Nothing secret goes here:
//! only the URL, the user code, the key fingerprint and progress.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::errors::{sanitize, terminal_safe};
use crate::timefmt::human_duration;

pub struct Ui {
    tty: bool,
    color: bool,
    quiet: bool,
    frame: usize,
    spinner_shown: bool,
}

pub struct Banner<'a> {
    pub url: &'a str,
    /// Manual code entry page, if the broker gave one.
    pub manual_url: Option<&'a str>,
    pub code: &'a str,
    pub fingerprint_short: &'a str,
    pub fingerprint_long: &'a str,
    pub expires_in: Option<Duration>,
}

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

impl Ui {
    pub fn new(quiet: bool) -> Ui {
        let tty = std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
        let color = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Ui { tty, color, quiet, frame: 0, spinner_shown: false }
    }

    fn bold(&self, s: &str) -> String {
        if self.color { format!("\x1b[1m{s}\x1b[0m") } else { s.to_string() }
    }

    fn clear_spinner(&mut self) {
        if self.spinner_shown {
            eprint!("\r\x1b[2K");
            self.spinner_shown = false;
        }
    }

    /// A progress note (suppressed by --quiet).
    pub fn note(&mut self, msg: &str) {
        if self.quiet {
            return;
        }
        self.clear_spinner();
        eprintln!("sealpost: {}", terminal_safe(msg));
    }

    /// A warning (always shown).
    pub fn warn(&mut self, msg: &str) {
        self.clear_spinner();
        eprintln!("sealpost: warning: {}", terminal_safe(msg));
    }

    /// Shown while the key is generated (TTY only: it can take a second).
    pub fn generating(&mut self, bits: usize) {
        if self.tty && !self.quiet {
            eprint!("sealpost: generating a {bits}-bit RSA key…");
            self.spinner_shown = true;
        }
    }

    /// The URL, code and fingerprint, always printed (also with --quiet).
    pub fn banner(&mut self, b: &Banner<'_>) {
        self.clear_spinner();
        // the URL and code come from the broker: escaped like any remote text
        let (url, code, manual) = (sanitize(b.url, 500), sanitize(b.code, 40), b.manual_url.map(|m| sanitize(m, 500)));
        let (fp_short, fp_long) = (sanitize(b.fingerprint_short, 40), sanitize(b.fingerprint_long, 80));
        let b = Banner {
            url: &url,
            manual_url: manual.as_deref(),
            code: &code,
            fingerprint_short: &fp_short,
            fingerprint_long: &fp_long,
            expires_in: b.expires_in,
        };
        let mut out = String::new();
        if self.quiet {
            out.push_str(&format!("url: {}\ncode: {}\nfingerprint: {}\n", b.url, b.code, b.fingerprint_short));
        } else {
            out.push_str("\nA person must approve this request. Open this link in a browser:\n\n");
            out.push_str(&format!("    {}\n\n", self.bold(b.url)));
            if let Some(manual) = b.manual_url {
                out.push_str(&format!("  (or open {manual} and type the code)\n\n"));
            }
            out.push_str(&format!("  Code:         {}\n", self.bold(b.code)));
            out.push_str(&format!("  Fingerprint:  {}   ({})\n", self.bold(b.fingerprint_short), b.fingerprint_long));
            if let Some(left) = b.expires_in {
                out.push_str(&format!("  Expires in:   {}\n", human_duration(left)));
            }
            out.push_str("\n  Check that the page shows the same code and fingerprint before you type a secret.\n");
            if self.tty
                && let Some(qr) = qr(b.url)
            {
                out.push('\n');
                out.push_str(&qr);
            }
            out.push('\n');
        }
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(out.as_bytes());
        let _ = err.flush();
    }

    /// Spinner line on a TTY; nothing otherwise (plain notes carry progress there).
    pub fn tick(&mut self, status: &str, left: Option<Duration>) {
        if !self.tty || self.quiet {
            return;
        }
        let status = terminal_safe(status);
        self.frame = (self.frame + 1) % FRAMES.len();
        let left = left.map(|l| format!(" · {} left", human_duration(l))).unwrap_or_default();
        eprint!("\r\x1b[2K{} {status}{left} (Ctrl-C to cancel)", FRAMES[self.frame]);
        let _ = std::io::stderr().flush();
        self.spinner_shown = true;
    }

    pub fn is_tty(&self) -> bool {
        self.tty
    }

    pub fn done(&mut self) {
        self.clear_spinner();
    }
}

/// The URL as a QR code drawn with Unicode half blocks (two modules per
/// character cell), light-on-dark so it scans on the usual dark terminal.
pub fn qr(url: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::L).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let dark = |x: isize, y: isize| -> bool {
        if x < 0 || y < 0 || x >= width as isize || y >= width as isize {
            return false;
        }
        colors[(y as usize) * width + x as usize] == qrcode::Color::Dark
    };
    let quiet = 2isize;
    let mut out = String::new();
    let mut y = -quiet;
    while y < width as isize + quiet {
        out.push_str("    ");
        for x in -quiet..width as isize + quiet {
            // light module = drawn (foreground), dark module = background
            let top = !dark(x, y);
            let bottom = !dark(x, y + 1);
            out.push(match (top, bottom) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
        y += 2;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn qr_is_square_ish_and_framed() {
        let q = super::qr("http://127.0.0.1:8080/connect/ABCD-1234").unwrap();
        let lines: Vec<&str> = q.lines().collect();
        let w = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == w));
        // version 2 (25 modules) + 2*2 quiet zone = 29 rows -> 15 lines
        assert!(lines.len() >= 13 && lines.len() <= 20, "{}", lines.len());
        // the quiet zone row is fully light
        assert!(lines[0].trim_start().chars().all(|c| c == '█'));
    }
}
