//! Email templates, one folder per email under `templates/emails/`, built into the binary.

use minijinja::Environment;
use serde::Serialize;
use std::sync::OnceLock;

/// What the placement confirmation tells the student.
#[derive(Debug, Clone, Serialize)]
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

#[derive(Serialize)]
struct WithSubject<'a> {
    subject: &'a str,
    #[serde(flatten)]
    facts: &'a ConfirmationFacts,
}

/// An email ready for the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn environment() -> anyhow::Result<&'static Environment<'static>> {
    static TEMPLATES: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    TEMPLATES
        .get_or_init(|| load_templates().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| anyhow::anyhow!("email templates: {e}"))
}

fn load_templates() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.add_template(
        "placement_confirmed/subject.txt",
        include_str!("../../templates/emails/placement_confirmed/subject.txt"),
    )?;
    env.add_template(
        "placement_confirmed/body.txt",
        include_str!("../../templates/emails/placement_confirmed/body.txt"),
    )?;
    env.add_template(
        "placement_confirmed/body.html",
        include_str!("../../templates/emails/placement_confirmed/body.html"),
    )?;
    Ok(env)
}

/// Renders the confirmation email; the HTML part escapes every value.
pub fn placement_confirmed(facts: &ConfirmationFacts) -> anyhow::Result<Rendered> {
    let env = environment()?;
    let subject = env
        .get_template("placement_confirmed/subject.txt")?
        .render(facts)?
        .trim()
        .to_owned();
    let context = WithSubject {
        subject: &subject,
        facts,
    };
    Ok(Rendered {
        text: env
            .get_template("placement_confirmed/body.txt")?
            .render(&context)?,
        html: env
            .get_template("placement_confirmed/body.html")?
            .render(&context)?,
        subject,
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
        assert!(email.html.contains("Lingang &lt;Lab&gt; &amp; Co"));
        assert!(!email.html.contains("<Lab>"));
        assert!(email.html.contains("上海临港集团"));
    }
}
