//! SMS parts: how many messages a text is billed as.
//!
//! A text that fits the GSM 03.38 alphabet travels as 7-bit units (160 in one part, 153 per
//! part of a multi-part message, the rest is the concatenation header); one character
//! outside it switches the whole text to UCS-2 (70, else 67 per part, counted in UTF-16
//! units). One stray `’` can therefore triple the bill, which is why the console shows it.

use serde::Serialize;

/// GSM 03.38 basic character set, in table order, without the escape (0x1B).
const GSM7_BASIC: &str = concat!(
    "@£$¥èéùìòÇ\nØø\rÅå",
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ",
    " !\"#¤%&'()*+,-./",
    "0123456789:;<=>?",
    "¡ABCDEFGHIJKLMNO",
    "PQRSTUVWXYZÄÖÑÜ§",
    "¿abcdefghijklmno",
    "pqrstuvwxyzäöñüà",
);

/// GSM 03.38 extension table: each is sent as escape + character, two units.
const GSM7_EXTENSION: &str = "\u{0C}^{}\\[~]|€";

const GSM7_SINGLE: usize = 160;
const GSM7_MULTI: usize = 153;
const UCS2_SINGLE: usize = 70;
const UCS2_MULTI: usize = 67;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// A text's size as an SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SegmentInfo {
    pub encoding: Encoding,
    /// Length in the encoding's units: GSM-7 septets (extension characters count 2) or
    /// UTF-16 code units.
    pub characters: usize,
    /// Parts the text is sent (and billed) as; an empty text still counts as one.
    pub segments: usize,
}

fn gsm7_width(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Counts the parts of `text`. Multi-part texts are packed the way phones and gateways do
/// it: an escape pair or a surrogate pair is never split across two parts.
pub fn segments(text: &str) -> SegmentInfo {
    let gsm: Option<Vec<usize>> = text.chars().map(gsm7_width).collect();
    let (encoding, widths, single, multi) = match gsm {
        Some(widths) => (Encoding::Gsm7, widths, GSM7_SINGLE, GSM7_MULTI),
        None => (
            Encoding::Ucs2,
            text.chars().map(char::len_utf16).collect(),
            UCS2_SINGLE,
            UCS2_MULTI,
        ),
    };
    let characters = widths.iter().sum();
    let segments = if characters <= single {
        1
    } else {
        pack(&widths, multi)
    };
    SegmentInfo {
        encoding,
        characters,
        segments,
    }
}

fn pack(widths: &[usize], per_part: usize) -> usize {
    let mut parts = 1;
    let mut used = 0;
    for &w in widths {
        if used + w > per_part {
            parts += 1;
            used = 0;
        }
        used += w;
    }
    parts
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn info(text: &str) -> (Encoding, usize, usize) {
        let s = segments(text);
        (s.encoding, s.characters, s.segments)
    }

    #[test]
    fn tables_are_complete() {
        assert_eq!(GSM7_BASIC.chars().count(), 127);
        assert_eq!(GSM7_EXTENSION.chars().count(), 10);
        assert!(!GSM7_BASIC.contains('\u{1B}'));
        assert!(!GSM7_BASIC.contains('`'));
    }

    #[test]
    fn gsm7_limits() {
        assert_eq!(info(""), (Encoding::Gsm7, 0, 1));
        assert_eq!(info(&"a".repeat(160)), (Encoding::Gsm7, 160, 1));
        assert_eq!(info(&"a".repeat(161)), (Encoding::Gsm7, 161, 2));
        assert_eq!(info(&"a".repeat(306)), (Encoding::Gsm7, 306, 2));
        assert_eq!(info(&"a".repeat(307)), (Encoding::Gsm7, 307, 3));
        assert_eq!(info("€{}"), (Encoding::Gsm7, 6, 1));
        assert_eq!(info(&"€".repeat(80)), (Encoding::Gsm7, 160, 1));
        // 152 septets, then an escape pair does not fit part one's last septet.
        let text = format!("{}{}{}", "a".repeat(152), "€", "a".repeat(10));
        assert_eq!(info(&text), (Encoding::Gsm7, 164, 2));
        let text = format!("{}{}", "a".repeat(152), "€".repeat(77));
        assert_eq!(info(&text), (Encoding::Gsm7, 306, 3));
        assert_eq!(info("Ça coûte 5 £, ¿vale?"), (Encoding::Ucs2, 20, 1));
        assert_eq!(info("Ça côute"), (Encoding::Ucs2, 8, 1));
        assert_eq!(info("Ça ÑÜ §"), (Encoding::Gsm7, 7, 1));
    }

    #[test]
    fn ucs2_limits() {
        assert_eq!(info("`"), (Encoding::Ucs2, 1, 1));
        assert_eq!(info(&"ක".repeat(70)), (Encoding::Ucs2, 70, 1));
        assert_eq!(info(&"ක".repeat(71)), (Encoding::Ucs2, 71, 2));
        assert_eq!(info(&"ක".repeat(134)), (Encoding::Ucs2, 134, 2));
        assert_eq!(info(&"ක".repeat(135)), (Encoding::Ucs2, 135, 3));
        assert_eq!(info("😀"), (Encoding::Ucs2, 2, 1));
        // 66 units, then an emoji (2 units) does not fit 67: it opens part two.
        let text = format!("{}{}", "a".repeat(66), "😀".repeat(3));
        assert_eq!(info(&text), (Encoding::Ucs2, 72, 2));
        assert_eq!(info("’"), (Encoding::Ucs2, 1, 1));
    }

    #[test]
    fn default_sms_text_is_one_gsm_part() {
        let t = crate::message_template::default_template(idgate_core::otp::Channel::Sms);
        let p = crate::message_template::preview(
            &t,
            &crate::message_template::MessageContext::sample(),
        );
        assert_eq!(p.segments.encoding, Encoding::Gsm7);
        assert_eq!(p.segments.segments, 1);
    }
}
