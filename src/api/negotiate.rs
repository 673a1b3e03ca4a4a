//! Content negotiation for handlers that answer in several formats.

use crate::error::ApiError;
use actix_web::http::header::{Accept, Header, Quality};
use actix_web::HttpRequest;

/// A format a handler offers, by its media type.
pub trait Offered: Copy {
    fn media_type(self) -> &'static str;
}

/// The format the Accept header prefers among `offers`, listed in order of preference.
/// Each format takes the quality of the most specific media range that matches it; the
/// best quality wins, then the most specific match, then the earlier offer. No header, or
/// an empty one, means the first offer. `hint` ends the 406 answer when none is acceptable.
pub fn negotiate<F: Offered>(
    request: &HttpRequest,
    offers: &[F],
    hint: &str,
) -> Result<F, ApiError> {
    let accept = Accept::parse(request)
        .map_err(|_| ApiError::BadRequest("the Accept header cannot be parsed".into()))?;
    let Some(&first) = offers.first() else {
        return Err(ApiError::Internal(anyhow::anyhow!("no format offered")));
    };
    if accept.is_empty() {
        return Ok(first);
    }
    let mut best: Option<(Quality, u8, F)> = None;
    for &format in offers {
        let matched = accept
            .iter()
            .filter_map(|range| {
                specificity(&range.item, format.media_type()).map(|s| (s, range.quality))
            })
            .max_by_key(|&(specificity, _)| specificity);
        if let Some((specificity, quality)) = matched {
            let better = best.is_none_or(|(q, s, _)| (quality, specificity) > (q, s));
            if quality > Quality::ZERO && better {
                best = Some((quality, specificity, format));
            }
        }
    }
    best.map(|(_, _, format)| format).ok_or_else(|| {
        let media_types: Vec<&str> = offers.iter().map(|f| f.media_type()).collect();
        ApiError::NotAcceptable(format!("available as {}; {hint}", media_types.join(", ")))
    })
}

/// How closely a media range matches a media type: 2 exactly, 1 by `type/*`, 0 by `*/*`;
/// `None` when it does not match.
fn specificity(range: &actix_web::mime::Mime, media_type: &str) -> Option<u8> {
    let (kind, subtype) = media_type.split_once('/')?;
    let range_kind = range.type_().as_str();
    let range_subtype = range.subtype().as_str();
    if range_kind == "*" {
        Some(0)
    } else if !range_kind.eq_ignore_ascii_case(kind) {
        None
    } else if range_subtype == "*" {
        Some(1)
    } else if range_subtype.eq_ignore_ascii_case(subtype) {
        Some(2)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_ranges_match_by_specificity() {
        let csv: actix_web::mime::Mime = "text/csv".parse().expect("a media type");
        let text: actix_web::mime::Mime = "text/*".parse().expect("a media type");
        let any: actix_web::mime::Mime = "*/*".parse().expect("a media type");
        assert_eq!(specificity(&csv, "text/csv"), Some(2));
        assert_eq!(specificity(&text, "text/csv"), Some(1));
        assert_eq!(specificity(&any, "text/csv"), Some(0));
        assert_eq!(specificity(&csv, "application/json"), None);
    }
}
