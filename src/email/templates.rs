//! Email templates, one folder per email under `templates/emails/`, compiled into the binary
//! by askama (the engine of the web pages too): a template that names a missing value does
//! not compile. The `.html` parts escape every value; the `.txt` parts are plain text.

use askama::Template;

/// What the placement confirmation tells the student.
#[derive(Debug, Clone)]
pub struct ConfirmationFacts {
    pub student_name: String,
    pub cycle_name: String,
    pub base_name: String,
    pub organisation: String,
    pub city: String,
    pub starts_on: String,
    pub ends_on: String,
    /// The coordinator's name, email and phone, as far as the base gave them.
    pub coordinator: String,
}

/// An email ready for the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Template)]
#[template(path = "emails/placement_confirmed/subject.txt")]
struct ConfirmationSubject<'a> {
    base_name: &'a str,
}

#[derive(Template)]
#[template(path = "emails/placement_confirmed/body.txt")]
struct ConfirmationText<'a> {
    student_name: &'a str,
    cycle_name: &'a str,
    base_name: &'a str,
    organisation: &'a str,
    city: &'a str,
    starts_on: &'a str,
    ends_on: &'a str,
    coordinator: &'a str,
}

#[derive(Template)]
#[template(path = "emails/placement_confirmed/body.html")]
struct ConfirmationHtml<'a> {
    subject: &'a str,
    student_name: &'a str,
    cycle_name: &'a str,
    base_name: &'a str,
    organisation: &'a str,
    city: &'a str,
    starts_on: &'a str,
    ends_on: &'a str,
    coordinator: &'a str,
}

/// Renders the confirmation email; the HTML part escapes every value.
pub fn placement_confirmed(facts: &ConfirmationFacts) -> anyhow::Result<Rendered> {
    let subject = ConfirmationSubject {
        base_name: &facts.base_name,
    }
    .render()?
    .trim()
    .to_owned();
    let text = ConfirmationText {
        student_name: &facts.student_name,
        cycle_name: &facts.cycle_name,
        base_name: &facts.base_name,
        organisation: &facts.organisation,
        city: &facts.city,
        starts_on: &facts.starts_on,
        ends_on: &facts.ends_on,
        coordinator: &facts.coordinator,
    }
    .render()?;
    let html = ConfirmationHtml {
        subject: &subject,
        student_name: &facts.student_name,
        cycle_name: &facts.cycle_name,
        base_name: &facts.base_name,
        organisation: &facts.organisation,
        city: &facts.city,
        starts_on: &facts.starts_on,
        ends_on: &facts.ends_on,
        coordinator: &facts.coordinator,
    }
    .render()?;
    Ok(Rendered {
        subject,
        text,
        html,
    })
}

/// What an invitation, or a password reset, tells its reader.
#[derive(Debug, Clone)]
pub struct InvitationFacts {
    pub name: String,
    pub email: String,
    pub university: String,
    /// The one-time link to the page where the password is chosen.
    pub link: String,
    pub expires_zh: String,
    pub expires_en: String,
    /// A reset of a known account rather than a first invitation.
    pub purpose_is_reset: bool,
}

#[derive(Template)]
#[template(path = "emails/invitation/subject.txt")]
struct InvitationSubject {
    purpose_is_reset: bool,
}

#[derive(Template)]
#[template(path = "emails/invitation/body.txt")]
struct InvitationText<'a> {
    name: &'a str,
    email: &'a str,
    university: &'a str,
    link: &'a str,
    expires_zh: &'a str,
    expires_en: &'a str,
    purpose_is_reset: bool,
}

#[derive(Template)]
#[template(path = "emails/invitation/body.html")]
struct InvitationHtml<'a> {
    subject: &'a str,
    name: &'a str,
    email: &'a str,
    university: &'a str,
    link: &'a str,
    expires_zh: &'a str,
    expires_en: &'a str,
    purpose_is_reset: bool,
}

/// Renders an invitation or a password reset, in Chinese then English.
pub fn invitation(facts: &InvitationFacts) -> anyhow::Result<Rendered> {
    let subject = InvitationSubject {
        purpose_is_reset: facts.purpose_is_reset,
    }
    .render()?
    .trim()
    .to_owned();
    let text = InvitationText {
        name: &facts.name,
        email: &facts.email,
        university: &facts.university,
        link: &facts.link,
        expires_zh: &facts.expires_zh,
        expires_en: &facts.expires_en,
        purpose_is_reset: facts.purpose_is_reset,
    }
    .render()?;
    let html = InvitationHtml {
        subject: &subject,
        name: &facts.name,
        email: &facts.email,
        university: &facts.university,
        link: &facts.link,
        expires_zh: &facts.expires_zh,
        expires_en: &facts.expires_en,
        purpose_is_reset: facts.purpose_is_reset,
    }
    .render()?;
    Ok(Rendered {
        subject,
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> ConfirmationFacts {
        ConfirmationFacts {
            student_name: "欧阳娜娜".into(),
            cycle_name: "2027 summer".into(),
            base_name: "Lingang <Lab> & Co".into(),
            organisation: "上海临港集团".into(),
            city: "Shanghai".into(),
            starts_on: "2027-07-01".into(),
            ends_on: "2027-08-31".into(),
            coordinator: "Zhao <zhao@bases.test>".into(),
        }
    }

    #[test]
    fn the_confirmation_speaks_chinese_and_english_and_escapes_html() {
        let email = placement_confirmed(&facts()).expect("renders");
        assert_eq!(
            email.subject,
            "实习岗位确认 / Internship placement confirmed: Lingang <Lab> & Co"
        );
        assert!(email.text.contains("欧阳娜娜 同学"));
        assert!(email.text.contains("Dear 欧阳娜娜"));
        assert!(email.text.contains("2027-07-01 至 2027-08-31"));
        assert!(email.text.contains("Lingang <Lab> & Co"));
        assert!(email.html.contains("Lingang &#60;Lab&#62; &#38; Co"));
        assert!(!email.html.contains("<Lab>"));
        assert!(email.html.contains("上海临港集团"));
    }

    #[test]
    fn the_invitation_carries_its_link_in_both_languages() {
        let email = invitation(&InvitationFacts {
            name: "<b>Wang</b>".into(),
            email: "wang@uni.test".into(),
            university: "Tongji".into(),
            link: "http://127.0.0.1:8080/activate/abc".into(),
            expires_zh: "12月11日 17:00".into(),
            expires_en: "11 Dec 17:00".into(),
            purpose_is_reset: false,
        })
        .expect("renders");
        assert!(email.subject.contains("Welcome to placemat"));
        assert!(email.text.contains("http://127.0.0.1:8080/activate/abc"));
        assert!(email.text.contains("12月11日 17:00 前有效"));
        assert!(email.text.contains("until 11 Dec 17:00"));
        assert!(!email.html.contains("<b>Wang</b>"));
    }
}
