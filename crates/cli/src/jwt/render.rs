//! The human-readable rendering of a report (`jwt decode|verify` without `--json`).

use sealpost_core::jwt::{self, Report, Severity, VerifyStatus};

fn paint(color: bool, code: &str, text: &str) -> String {
    if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
}

fn sev_label(color: bool, s: Severity) -> String {
    let (c, t) = match s {
        Severity::Critical => ("1;31", "CRITICAL"),
        Severity::High => ("31", "HIGH"),
        Severity::Medium => ("33", "MEDIUM"),
        Severity::Low => ("36", "LOW"),
        Severity::Info => ("2", "INFO"),
    };
    paint(color, c, &format!("{t:<8}"))
}

pub(super) fn render(r: &Report, now: i64, color: bool, depth: usize) -> String {
    use std::fmt::Write as _;
    let ind = "  ".repeat(depth);
    let mut o = String::new();
    let e = &r.explanation;
    let form = serde_json::to_value(r.input.form).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let kind = e
        .kind
        .and_then(|k| serde_json::to_value(k).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "{ind}{} {form}, {} bytes, looks like: {kind} ({})",
        paint(color, "1", "Token"),
        r.input.length,
        e.kind_reason.as_deref().unwrap_or("")
    );
    for (title, v) in [("Header", &r.header), ("Payload", &r.payload)] {
        if let Some(v) = v {
            let _ = writeln!(o, "{ind}{}", paint(color, "1", title));
            for line in serde_json::to_string_pretty(v).unwrap_or_default().lines() {
                let _ = writeln!(o, "{ind}  {line}");
            }
        }
    }
    if let Some(t) = &r.payload_text {
        let _ = writeln!(o, "{ind}{} (not JSON) {}", paint(color, "1", "Payload"), jwt_clip(t, 200));
    }
    if !e.times.is_empty() {
        let _ = writeln!(o, "{ind}{} (now = {})", paint(color, "1", "Times"), jwt::time::utc(now).unwrap_or_default());
        for t in &e.times {
            let _ = writeln!(
                o,
                "{ind}  {:<10} {:<22} {}",
                t.claim,
                t.utc.as_deref().unwrap_or("(not a NumericDate)"),
                t.relative.as_deref().unwrap_or("")
            );
        }
    }
    if !e.scopes.is_empty() {
        let _ = writeln!(o, "{ind}{} {}", paint(color, "1", "Scopes"), e.scopes.join(" "));
    }
    if !e.act_chain.is_empty() {
        let _ = writeln!(o, "{ind}{} (outermost = current actor first)", paint(color, "1", "Delegation"));
        for a in &e.act_chain {
            let _ = writeln!(
                o,
                "{ind}  {}. sub={} iss={} client_id={}",
                a.depth + 1,
                a.sub.as_deref().unwrap_or("-"),
                a.iss.as_deref().unwrap_or("-"),
                a.client_id.as_deref().unwrap_or("-")
            );
        }
        let _ = writeln!(o, "{ind}  acting for subject {}", e.subject.as_deref().unwrap_or("-"));
    }
    if let Some(c) = &e.confirmation {
        let _ = writeln!(
            o,
            "{ind}{} {} {}",
            paint(color, "1", "Bound to"),
            c.method,
            c.jkt.as_deref().or(c.x5t_s256.as_deref()).unwrap_or("")
        );
    }
    for d in &e.authorization_details {
        let _ = writeln!(
            o,
            "{ind}{} type={} actions=[{}] locations=[{}]",
            paint(color, "1", "Authorization"),
            d.kind.as_deref().unwrap_or("-"),
            d.actions.join(", "),
            d.locations.join(", ")
        );
    }
    let v = &r.verification;
    let status = match v.status {
        VerifyStatus::Valid => paint(color, "32", "valid"),
        VerifyStatus::NotAttempted => paint(color, "2", "not checked"),
        _ => paint(color, "31", "NOT VALID"),
    };
    let _ = writeln!(o, "{ind}{} {status}: {}", paint(color, "1", "Signature"), v.detail);
    if let Some(d) = &r.dpop {
        let proof = if d.proof_key_verified {
            paint(color, "32", "verified with its own header key")
        } else {
            paint(color, "31", "NOT VERIFIED with its own header key")
        };
        let _ = writeln!(
            o,
            "{ind}{} {proof}: {} (possession of that key, not trust)",
            paint(color, "1", "DPoP proof"),
            d.detail
        );
        let _ = writeln!(o, "{ind}  jkt (RFC 7638 thumbprint) {}", d.thumbprint.as_deref().unwrap_or("-"));
        for (name, b) in [("ath", &d.ath), ("cnf.jkt", &d.jkt)] {
            if let Some(b) = b {
                let _ = writeln!(o, "{ind}  {name:<8} {:?}", b.status);
            }
        }
    }
    let s = &r.summary;
    let _ = writeln!(
        o,
        "{ind}{} {} ({} critical, {} high, {} medium, {} low, {} info)",
        paint(color, "1", "Findings"),
        r.findings.len(),
        s.critical,
        s.high,
        s.medium,
        s.low,
        s.info
    );
    for f in &r.findings {
        let _ = writeln!(o, "{ind}  {} {} at {}", sev_label(color, f.severity), f.code, f.location);
        let _ = writeln!(o, "{ind}           {}", f.message);
        let _ = writeln!(o, "{ind}           fix: {}", f.fix);
    }
    if let Some(n) = &r.nested {
        let _ = writeln!(o, "{ind}{}", paint(color, "1", "Nested token"));
        o.push_str(&render(n, now, color, depth + 1));
    }
    o
}

fn jwt_clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_owned() } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}
