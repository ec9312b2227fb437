//! The few DER structures the identity is read from (names, subject
//! alternative names), walked the way Go's `cryptobyte` walks them:
//! every element read, none skipped. x509-parser decodes the rest of the
//! certificate, but stops at an RDN it cannot read and keeps the RDNs
//! before it, where Go reads on (an empty RDN hid a CN that dockerd
//! reported as the user).

/// One element: its whole tag byte and its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Element<'a> {
    /// Class, constructed bit and number, as one byte (as `cryptobyte` compares tags).
    pub(crate) tag: u8,
    /// The content octets.
    pub(crate) content: &'a [u8],
}

/// Universal tags compared whole, as Go does.
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;
pub(crate) const OBJECT_IDENTIFIER: u8 = 0x06;

/// Reads one element from the front of `input`; returns it and the rest.
/// Refuses what `cryptobyte` refuses: high tag numbers, indefinite and
/// non-minimal lengths, lengths past the input.
pub(crate) fn read(input: &[u8]) -> Result<(Element<'_>, &[u8]), String> {
    let truncated = || "truncated DER".to_owned();
    let (&tag, rest) = input.split_first().ok_or_else(truncated)?;
    if tag & 0x1f == 0x1f {
        return Err("a DER tag number above 30".to_owned());
    }
    let (&first, rest) = rest.split_first().ok_or_else(truncated)?;
    let (len, rest) = if first & 0x80 == 0 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err("an indefinite or oversized DER length".to_owned());
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        if len < 0x80 || rest[0] == 0 {
            return Err("a DER length not in its shortest form".to_owned());
        }
        (len, &rest[count..])
    };
    if rest.len() < len {
        return Err(truncated());
    }
    let (content, rest) = rest.split_at(len);
    Ok((Element { tag, content }, rest))
}

/// Reads one element that must have `tag`.
pub(crate) fn expect(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), String> {
    let (element, rest) = read(input)?;
    if element.tag == tag {
        Ok((element.content, rest))
    } else {
        Err(format!(
            "DER tag {:#04x} where {tag:#04x} belongs",
            element.tag
        ))
    }
}

/// The elements `content` is made of, in order.
pub(crate) fn elements(mut content: &[u8]) -> Result<Vec<Element<'_>>, String> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (element, rest) = read(content)?;
        out.push(element);
        content = rest;
    }
    Ok(out)
}

/// The arcs of an object identifier's content. Sub-identifiers padded
/// with leading `0x80` octets are read for their value, so a padded
/// `2.5.4.3` still counts as a common name.
pub(crate) fn oid_arcs(content: &[u8]) -> Result<Vec<u64>, String> {
    let mut values = Vec::new();
    let mut value: u64 = 0;
    for (i, &b) in content.iter().enumerate() {
        value = value
            .checked_mul(128)
            .ok_or_else(|| "an object identifier arc past 64 bits".to_owned())?
            | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            values.push(value);
            value = 0;
        } else if i + 1 == content.len() {
            return Err("a truncated object identifier".to_owned());
        }
    }
    let Some((&first, rest)) = values.split_first() else {
        return Err("an empty object identifier".to_owned());
    };
    let top = (first / 40).min(2);
    let mut arcs = vec![top, first - 40 * top];
    arcs.extend_from_slice(rest);
    Ok(arcs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_read_as_cryptobyte_reads_them() {
        assert_eq!(
            read(&[0x0c, 0x01, b'a', 0xff]).unwrap(),
            (
                Element {
                    tag: 0x0c,
                    content: b"a"
                },
                &[0xff][..]
            )
        );
        let long = [&[0x04, 0x81, 0x80][..], &[0; 128]].concat();
        assert_eq!(read(&long).unwrap().0.content.len(), 128);
        assert!(
            read(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5]).is_err(),
            "non-minimal"
        );
        assert!(read(&[0x04, 0x80]).is_err(), "indefinite");
        assert!(read(&[0x1f, 0x01, 0x00]).is_err(), "high tag number");
        assert!(read(&[0x04, 0x02, 0x00]).is_err(), "truncated");
    }

    #[test]
    fn object_identifiers_are_read_by_value() {
        assert_eq!(oid_arcs(&[0x55, 0x04, 0x03]).unwrap(), [2, 5, 4, 3]);
        assert_eq!(oid_arcs(&[0x55, 0x04, 0x80, 0x03]).unwrap(), [2, 5, 4, 3]);
        assert_eq!(
            oid_arcs(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]).unwrap(),
            [1, 2, 840, 113549]
        );
        assert!(oid_arcs(&[0x55, 0x84]).is_err());
        assert!(oid_arcs(&[]).is_err());
    }
}
