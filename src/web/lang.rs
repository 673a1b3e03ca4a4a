//! The language of a request: `?lang=`, the `lang` cookie, or `Accept-Language`.

use crate::i18n::{best_match, Lang, LANG_COOKIE};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;

/// The language of a request, and whether `?lang=` asked to remember a new one.
#[derive(Debug, Clone, Copy)]
pub struct Choice {
    pub lang: Lang,
    pub remember: bool,
}

impl Choice {
    /// `?lang=` first (remembered in the cookie), then the cookie, then the best match of
    /// `Accept-Language`, else Chinese.
    pub fn of(req: &HttpRequest) -> Choice {
        let asked = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .unwrap_or_default()
            .into_iter()
            .find(|(key, _)| key == "lang")
            .and_then(|(_, value)| Lang::parse(&value));
        if let Some(lang) = asked {
            return Choice {
                lang,
                remember: true,
            };
        }
        let lang = req
            .cookie(LANG_COOKIE)
            .and_then(|cookie| Lang::parse(cookie.value()))
            .or_else(|| {
                req.headers()
                    .get(actix_web::http::header::ACCEPT_LANGUAGE)
                    .and_then(|value| value.to_str().ok())
                    .and_then(best_match)
            })
            .unwrap_or(Lang::Zh);
        Choice {
            lang,
            remember: false,
        }
    }

    /// The cookie that remembers the choice for a year.
    pub fn cookie(self) -> Cookie<'static> {
        Cookie::build(LANG_COOKIE, self.lang.code())
            .path("/")
            .same_site(SameSite::Lax)
            .max_age(actix_web::cookie::time::Duration::days(365))
            .finish()
    }
}
