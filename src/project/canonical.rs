//! What `JSON.stringify` writes for a value that `JSON.parse` read from some JSON text: the
//! canonical form of a string literal and of a number. Used by [`super::project_foreign`],
//! which projects JSON that this process did not write (a message from the broker), so that
//! its result is byte for byte what graphql-js's execution of `JSON.parse(text)` would send.

/// True when the JSON string literal `lit` (quotes included, already valid JSON) is exactly
/// what `JSON.stringify` writes for the string it denotes: only `\"`, `\\`, `\b`, `\f`,
/// `\n`, `\r`, `\t` and `\u00xx` (lower-case hex, for the other control characters) are
/// escaped, nothing else. A surrogate escape is refused too (JSON.stringify writes a pair
/// as the character, and a lone one only rarely arrives): the caller lets graphql-js run.
pub(super) fn string(lit: &str) -> bool {
    let b = lit.as_bytes();
    if b.len() < 2 {
        return false;
    }
    let inner = &b[1..b.len() - 1];
    let mut i = 0;
    while i < inner.len() {
        if inner[i] != b'\\' {
            i += 1;
            continue;
        }
        match inner.get(i + 1) {
            Some(b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
            Some(b'u') => {
                let Some(hex) = inner.get(i + 2..i + 6) else {
                    return false;
                };
                // \u00XX for a control character without a short escape, lower-case hex.
                let lower = hex
                    .iter()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c));
                let code = std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u16::from_str_radix(h, 16).ok());
                let short = matches!(code, Some(0x08 | 0x09 | 0x0a | 0x0c | 0x0d));
                if !lower || short || !matches!(code, Some(0..=0x1f)) {
                    return false;
                }
                i += 6;
            }
            _ => return false,
        }
    }
    true
}

/// Writes `v` as JavaScript's `Number.prototype.toString` does (what `JSON.stringify` writes
/// for a number); `None` for a value JavaScript holds as ±Infinity (graphql-js refuses it).
pub(super) fn number(out: &mut Vec<u8>, v: f64) -> Option<()> {
    if !v.is_finite() {
        return None;
    }
    if v == 0.0 {
        // -0 too: JSON.stringify(-0) is "0".
        out.push(b'0');
        return Some(());
    }
    // Rust's `{:e}` is the shortest text that reads back to `v`, as JS's is: d.ddde±x.
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e')?;
    let digits: Vec<u8> = mantissa.bytes().filter(|c| *c != b'.').collect();
    let k = digits.len() as i32;
    // v = 0.digits × 10^n (ECMA-262 Number::toString)
    let n = exp.parse::<i32>().ok()? + 1;
    if v < 0.0 {
        out.push(b'-');
    }
    let d = &digits[..];
    if k <= n && n <= 21 {
        out.extend_from_slice(d);
        out.extend(std::iter::repeat_n(b'0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.extend_from_slice(&d[..n as usize]);
        out.push(b'.');
        out.extend_from_slice(&d[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-n) as usize));
        out.extend_from_slice(d);
    } else {
        out.push(d[0]);
        if k > 1 {
            out.push(b'.');
            out.extend_from_slice(&d[1..]);
        }
        let e = n - 1;
        let sign = if e < 0 { '-' } else { '+' };
        out.extend_from_slice(format!("e{sign}{}", e.abs()).as_bytes());
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(text: &str) -> Option<String> {
        let mut out = Vec::new();
        number(&mut out, text.parse().ok()?)?;
        Some(String::from_utf8(out).unwrap())
    }

    #[test]
    fn numbers_print_as_javascript_prints_them() {
        // (each pair checked against node: String(JSON.parse(text)))
        for (text, js) in [
            ("0", "0"),
            ("-0", "0"),
            ("1.50", "1.5"),
            ("1e3", "1000"),
            ("1E3", "1000"),
            ("1.0", "1"),
            ("-2.5e-3", "-0.0025"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1e-7"),
            ("1e21", "1e+21"),
            ("123456789012345678901", "123456789012345680000"),
            ("1.5e300", "1.5e+300"),
            ("5e-324", "5e-324"),
            ("0.1", "0.1"),
            ("100", "100"),
            ("123.456", "123.456"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ] {
            assert_eq!(num(text).as_deref(), Some(js), "{text}");
        }
        assert_eq!(num("1e400"), None);
        assert_eq!(num("-1e400"), None);
    }

    #[test]
    fn strings_are_canonical_only_as_json_stringify_writes_them() {
        for ok in [
            r#""""#,
            r#""plain é ☃""#,
            r#""q\"b\\s\n\r\t\b\f""#,
            r#""\u0000\u001f\u000b""#,
            "\"\u{2028}/\"",
        ] {
            assert!(string(ok), "{ok}");
        }
        for not in [
            r#""\/""#,
            r#""\u0041""#,
            r#""\u000A""#,
            r#""\u000a""#,
            r#""\ud83d\ude00""#,
            r#""\ud800""#,
            r#""\u007f""#,
        ] {
            assert!(!string(not), "{not}");
        }
    }
}
