//! Every word of the pages and emails in Chinese and English: the shared words here, a
//! module per page (`alliance`, `base`, `university`), and dates in words (`time`). Each
//! catalogue is a struct with one value per language, so a word missing in one language
//! is a compile error rather than a blank on the page.

pub mod alliance;
pub mod base;
pub mod time;
pub mod university;

/// The two languages of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

pub const LANG_COOKIE: &str = "lang";

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The value of `<html lang>`.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn text(self) -> &'static Text {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// The button of an identity provider on the sign-in page.
    pub fn sign_in_with(self, provider: &str) -> String {
        match self {
            Lang::Zh => format!("通过 {provider} 登录"),
            Lang::En => format!("Sign in with {provider}"),
        }
    }

    /// The link to an identity provider's own sign-out, after placemat's.
    pub fn sign_out_of(self, provider: &str) -> String {
        match self {
            Lang::Zh => format!("同时退出 {provider}"),
            Lang::En => format!("Also sign out of {provider}"),
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// The language of `Accept-Language` with the highest weight among those placemat speaks.
pub fn best_match(header: &str) -> Option<Lang> {
    header
        .split(',')
        .enumerate()
        .filter_map(|(position, item)| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
                .unwrap_or(1.0);
            let primary = tag.split('-').next()?;
            let lang = Lang::parse(primary)?;
            (weight > 0.0).then_some((weight, position, lang))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
        .map(|(_, _, lang)| lang)
}

/// The words of the pages in one language.
pub struct Text {
    pub product: &'static str,
    pub tagline: &'static str,
    pub skip_to_content: &'static str,
    pub language: &'static str,
    pub signed_in_as: &'static str,
    pub sign_out: &'static str,
    pub sign_in: &'static str,
    pub sign_in_title: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub wrong_credentials: &'static str,
    pub sign_in_busy: &'static str,
    pub sign_in_or_password: &'static str,
    pub sign_in_through_provider: &'static str,
    pub sso_unknown_provider_title: &'static str,
    pub sso_unknown_provider_text: &'static str,
    pub sso_unknown_person_title: &'static str,
    pub sso_unknown_person_text: &'static str,
    pub sso_refused_title: &'static str,
    pub sso_refused_text: &'static str,
    pub sso_unreachable_title: &'static str,
    pub sso_unreachable_text: &'static str,
    pub sign_in_locked: &'static str,
    pub forgot_password: &'static str,
    pub role_student: &'static str,
    pub role_base: &'static str,
    pub role_university: &'static str,
    pub role_alliance: &'static str,
    pub home_student: &'static str,
    pub home_base: &'static str,
    pub home_university: &'static str,
    pub home_alliance: &'static str,
    pub section_cycle: &'static str,
    pub section_my_choices: &'static str,
    pub section_bases: &'static str,
    pub section_seats: &'static str,
    pub section_applicants: &'static str,
    pub section_offers: &'static str,
    pub section_direct_applications: &'static str,
    pub section_students: &'static str,
    pub section_import_students: &'static str,
    pub section_placements: &'static str,
    pub section_statistics: &'static str,
    pub section_cycles: &'static str,
    pub section_match_runs: &'static str,
    pub section_emails: &'static str,
    pub no_cycle: &'static str,
    pub applications_window: &'static str,
    pub forbidden_title: &'static str,
    pub forbidden_text: &'static str,
    pub go_home: &'static str,
    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub csrf_title: &'static str,
    pub csrf_text: &'static str,
    pub error_title: &'static str,
    pub error_text: &'static str,
    pub refused_title: &'static str,
    pub refused_text: &'static str,
    pub forgot_title: &'static str,
    pub forgot_intro: &'static str,
    pub send_link: &'static str,
    pub forgot_sent: &'static str,
    pub activate_title: &'static str,
    pub activate_intro: &'static str,
    pub password_rules: &'static str,
    pub confirm_password: &'static str,
    pub set_password: &'static str,
    pub passwords_differ: &'static str,
    pub password_too_short: &'static str,
    pub link_dead_title: &'static str,
    pub link_dead_text: &'static str,
    pub password_set: &'static str,
    pub back_to_sign_in: &'static str,
    pub digests: &'static str,
    pub download_bundle: &'static str,
    pub my_receipt: &'static str,
    pub receipt_intro: &'static str,
    pub pseudonym: &'static str,
    pub receipt_base: &'static str,
    pub your_position: &'static str,
    pub last_admitted: &'static str,
    pub equity_title: &'static str,
    pub equity_note: &'static str,
    pub equity_university: &'static str,
    pub equity_program: &'static str,
    pub equity_code: &'static str,
    pub equity_applicants: &'static str,
    pub equity_matched: &'static str,
    pub equity_first_choice: &'static str,
    pub equity_top_three: &'static str,
    pub equity_mean_rank: &'static str,
}

pub static EN: Text = Text {
    product: "placemat",
    tagline: "Internship placements of the university alliance",
    skip_to_content: "Skip to content",
    language: "Language",
    signed_in_as: "Signed in as",
    sign_out: "Sign out",
    sign_in: "Sign in",
    sign_in_title: "Sign in to placemat",
    email: "Email",
    password: "Password",
    wrong_credentials: "Wrong email or password.",
    sign_in_busy: "Signing in is busy right now. Wait a moment and try again.",
    sign_in_or_password: "or with your placemat password",
    sign_in_through_provider: "Your university signs you in through its own sign-in service: use its button above.",
    sso_unknown_provider_title: "No such sign-in service",
    sso_unknown_provider_text: "placemat knows no sign-in service at this address.",
    sso_unknown_person_title: "No placemat account for you",
    sso_unknown_person_text: "Your university's sign-in service knows you, but placemat has no account for you at that university. Ask your university's placement officer to add you (students) or to give you an account (staff).",
    sso_refused_title: "Sign-in not confirmed",
    sso_refused_text: "placemat could not confirm this sign-in: it was used already, expired, or did not come from the sign-in you started. Nothing was changed. Start again from the sign-in page.",
    sso_unreachable_title: "Sign-in service unavailable",
    sso_unreachable_text: "Your university's sign-in service did not answer in time. Nothing was changed. Try again shortly, or sign in with your placemat password if you have one.",
    sign_in_locked: "Too many failed sign-ins for this account or from this network. Try again in 15 minutes.",
    forgot_password: "Forgot password?",
    role_student: "Student",
    role_base: "Base coordinator",
    role_university: "University placement officer",
    role_alliance: "Alliance admin",
    home_student: "My internship",
    home_base: "My base",
    home_university: "My university",
    home_alliance: "The alliance",
    section_cycle: "Application window",
    section_my_choices: "My choices",
    section_bases: "Bases",
    section_seats: "Seats",
    section_applicants: "Applicants",
    section_offers: "Offers",
    section_direct_applications: "Direct applications",
    section_students: "Students",
    section_import_students: "Import students",
    section_placements: "Placements",
    section_statistics: "Statistics",
    section_cycles: "Cycles",
    section_match_runs: "Match runs",
    section_emails: "Emails",
    no_cycle: "No placement cycle yet.",
    applications_window: "Applications",
    forbidden_title: "Not your page",
    forbidden_text: "This page belongs to another role. Your own page is one click away.",
    go_home: "Go to my page",
    not_found_title: "Page not found",
    not_found_text: "There is no page at this address.",
    csrf_title: "The form has expired",
    csrf_text: "Nothing was changed. Go back, reload the page and try again.",
    error_title: "Something went wrong",
    error_text: "Nothing was changed. Try again in a moment.",
    refused_title: "Not done",
    refused_text: "Nothing was changed: the change was not accepted.",
    forgot_title: "Forgot password?",
    forgot_intro: "Enter the email you sign in with. We send a link to choose a new password.",
    send_link: "Send the link",
    forgot_sent: "If an account uses this email, a link to choose a new password is on its way. It works once.",
    activate_title: "Choose your password",
    activate_intro: "Choose the password you will sign in with.",
    password_rules: "At least 8 characters. A few words you remember make a good password.",
    confirm_password: "Confirm password",
    set_password: "Set my password",
    passwords_differ: "The two passwords differ.",
    password_too_short: "The password needs at least 8 characters.",
    link_dead_title: "This link no longer works",
    link_dead_text: "It was used already or has expired. Ask for a new one below.",
    password_set: "Your password is set. Sign in with it.",
    back_to_sign_in: "Back to sign in",
    digests: "Digests (instance, result)",
    download_bundle: "Download bundle",
    my_receipt: "My receipt",
    receipt_intro: "With these you can find yourself in the published run's bundle and check your own outcome.",
    pseudonym: "Your pseudonym",
    receipt_base: "Base",
    your_position: "Your position",
    last_admitted: "Last admitted position",
    equity_title: "Equity of the published run",
    equity_note: "Counts under 5 are shown as \"<5\".",
    equity_university: "University",
    equity_program: "Program",
    equity_code: "Code",
    equity_applicants: "Applicants",
    equity_matched: "Matched",
    equity_first_choice: "First choice",
    equity_top_three: "Top three",
    equity_mean_rank: "Mean rank",
};

pub static ZH: Text = Text {
    product: "placemat",
    tagline: "高校联盟研究生实习基地平台",
    skip_to_content: "跳到正文",
    language: "语言",
    signed_in_as: "当前用户",
    sign_out: "退出登录",
    sign_in: "登录",
    sign_in_title: "登录 placemat",
    email: "邮箱",
    password: "密码",
    wrong_credentials: "邮箱或密码错误。",
    sign_in_busy: "登录繁忙，请稍后再试。",
    sign_in_or_password: "或使用 placemat 密码登录",
    sign_in_through_provider: "你的学校通过其统一身份认证登录，请使用上方的按钮。",
    sso_unknown_provider_title: "没有这个登录服务",
    sso_unknown_provider_text: "placemat 在此地址没有登录服务。",
    sso_unknown_person_title: "placemat 中没有你的账号",
    sso_unknown_person_text: "学校的统一身份认证认识你，但 placemat 中没有你在该校的账号。请联系本校的实习管理老师为你添加（学生）或开通账号（教职工）。",
    sso_refused_title: "登录未能确认",
    sso_refused_text: "placemat 无法确认这次登录：它已被使用、已过期，或并非来自你发起的登录。没有任何更改。请从登录页重新开始。",
    sso_unreachable_title: "登录服务暂不可用",
    sso_unreachable_text: "学校的统一身份认证没有及时响应。没有任何更改。请稍后再试；如有 placemat 密码，也可用密码登录。",
    sign_in_locked: "此账号或此网络登录失败次数过多，请 15 分钟后再试。",
    forgot_password: "忘记密码？",
    role_student: "学生",
    role_base: "基地负责人",
    role_university: "学校实践管理老师",
    role_alliance: "联盟管理员",
    home_student: "我的实习",
    home_base: "我的基地",
    home_university: "我的学校",
    home_alliance: "联盟",
    section_cycle: "申请时间",
    section_my_choices: "我的志愿",
    section_bases: "实习基地",
    section_seats: "名额",
    section_applicants: "申请人",
    section_offers: "录取",
    section_direct_applications: "直接申请",
    section_students: "学生",
    section_import_students: "导入学生",
    section_placements: "实习安排",
    section_statistics: "统计",
    section_cycles: "批次",
    section_match_runs: "匹配",
    section_emails: "邮件",
    no_cycle: "尚无实习批次。",
    applications_window: "志愿填报",
    forbidden_title: "无权访问此页",
    forbidden_text: "此页面属于其他角色。点击下方链接前往您自己的页面。",
    go_home: "前往我的页面",
    not_found_title: "页面不存在",
    not_found_text: "此地址没有页面。",
    csrf_title: "表单已过期",
    csrf_text: "未做任何更改。请返回、刷新页面后重试。",
    error_title: "出错了",
    error_text: "未做任何更改。请稍后重试。",
    refused_title: "未完成",
    refused_text: "未做任何更改：该操作未被接受。",
    forgot_title: "忘记密码？",
    forgot_intro: "请输入登录邮箱，我们会发送设置新密码的链接。",
    send_link: "发送链接",
    forgot_sent: "如果该邮箱已注册，设置新密码的链接已发出。链接仅可使用一次。",
    activate_title: "设置密码",
    activate_intro: "请设置您的登录密码。",
    password_rules: "至少 8 个字符。几个好记的词组合起来就是好密码。",
    confirm_password: "确认密码",
    set_password: "设置密码",
    passwords_differ: "两次输入的密码不一致。",
    password_too_short: "密码至少需要 8 个字符。",
    link_dead_title: "此链接已失效",
    link_dead_text: "链接已使用或已过期。请在下方重新获取。",
    password_set: "密码已设置，请用新密码登录。",
    back_to_sign_in: "返回登录",
    digests: "摘要（实例、结果）",
    download_bundle: "下载校验包",
    my_receipt: "我的回执",
    receipt_intro: "凭这些信息，你可以在已发布匹配的校验包中找到自己，并核对自己的结果。",
    pseudonym: "你的化名",
    receipt_base: "基地",
    your_position: "你的排位",
    last_admitted: "最后录取的排位",
    equity_title: "已发布匹配的公平性",
    equity_note: "少于 5 人的数字显示为“<5”。",
    equity_university: "学校",
    equity_program: "专业",
    equity_code: "代码",
    equity_applicants: "申请人数",
    equity_matched: "匹配人数",
    equity_first_choice: "第一志愿",
    equity_top_three: "前三志愿",
    equity_mean_rank: "平均志愿位次",
};

/// A placement's state in words, as both the student and the coordinator read it.
pub fn placement_status(lang: Lang, status: crate::domain::PlacementStatus) -> &'static str {
    use crate::domain::PlacementStatus::*;
    match (lang, status) {
        (Lang::En, status) => status.as_str(),
        (Lang::Zh, Offered) => "已录取待确认",
        (Lang::Zh, Confirmed) => "已确认",
        (Lang::Zh, Declined) => "已婉拒",
        (Lang::Zh, Withdrawn) => "已退出",
        (Lang::Zh, Completed) => "已完成",
    }
}

/// Why a change was refused, in words, chosen by the kind of clash and never by the
/// wording of its detail.
pub fn conflict(lang: Lang, kind: crate::domain::Conflict) -> &'static str {
    use crate::domain::Conflict::*;
    match lang {
        Lang::En => match kind {
            RunStale => "The inputs changed after this run; run the match again before publishing.",
            CyclePublished => "The match of this cycle is published; this no longer changes it.",
            SecondRoundNotOpen => "The second round opens when the match is published.",
            NotPublished => "This is shown once the match is published.",
            NoFreeSeat => "No seat is free at this base.",
            SeatsBelowTaken => "The base already holds more placements than that many seats.",
            PlacementState => "This placement has moved on; it no longer allows this. The page shows where it is now.",
            AlreadyPlaced => "The student already holds a placement in this cycle.",
            DuplicateDirectApplication => "There is already an application to this base waiting for an answer.",
            DirectApplicationDecided => "This application was answered already.",
            EmailTaken => "Another account uses this email.",
            StudentNumberTaken => "Another student of the university has this student number.",
            UniversityCodeTaken | ProgramCodeTaken | CycleNameTaken | AlreadyExists => {
                "Something with the same name or code exists already."
            }
            EmailNotFailed => "Only an email that failed is sent again.",
            PlacementLive => "The student holds an offered or confirmed placement; it must end before the student's data is erased.",
            DataRule => "The change would break a rule of the records; nothing was changed.",
            ConcurrentChange => "Someone changed this at the same moment; try again.",
        },
        Lang::Zh => match kind {
            RunStale => "本次匹配之后申请、排序或名额有变动，请重新运行匹配后再发布。",
            CyclePublished => "本轮匹配结果已发布，此项修改不再影响匹配。",
            SecondRoundNotOpen => "匹配结果发布后才开放第二轮申请。",
            NotPublished => "匹配结果发布后才会显示。",
            NoFreeSeat => "该基地已没有空余名额。",
            SeatsBelowTaken => "该基地已有的实习安排多于这个名额数。",
            PlacementState => "该实习安排的状态已变化，不能再进行此操作。页面显示的是当前状态。",
            AlreadyPlaced => "该学生本轮已有实习安排。",
            DuplicateDirectApplication => "你已向该基地提交申请，正在等待答复。",
            DirectApplicationDecided => "该申请已经处理过了。",
            EmailTaken => "该邮箱已被其他账号使用。",
            StudentNumberTaken => "本校已有学生使用该学号。",
            UniversityCodeTaken | ProgramCodeTaken | CycleNameTaken | AlreadyExists => {
                "已存在同名或同代码的记录。"
            }
            EmailNotFailed => "只有发送失败的邮件才能重发。",
            PlacementLive => "该学生有待确认或已确认的实习安排，结束后才能删除其个人信息。",
            DataRule => "该修改违反数据规则，未做任何更改。",
            ConcurrentChange => "有人同时修改了这条记录，请重试。",
        },
    }
}

/// Why a base a student listed did not take them, from the engine's record, told to the
/// officer and the alliance.
pub fn refusal(lang: Lang, base: &str, refusal: &crate::domain::BaseRefusal) -> String {
    let rank = refusal.preference_rank;
    let seats = refusal.seats.unwrap_or(0);
    let own = refusal.student_rank.unwrap_or(0);
    let last = refusal.last_kept_rank.unwrap_or(0);
    match (lang, refusal.reason.as_str()) {
        (Lang::En, "no_seats") => format!("Choice {rank}, {base}: it had no seats in this cycle."),
        (Lang::Zh, "no_seats") => format!("第 {rank} 志愿 {base}：本轮没有名额。"),
        (Lang::En, "not_ranked") => {
            format!("Choice {rank}, {base}: the base's order does not include the student.")
        }
        (Lang::Zh, "not_ranked") => format!("第 {rank} 志愿 {base}：该基地的排序中没有该学生。"),
        (Lang::En, "full_with_higher_ranked") => format!(
            "Choice {rank}, {base}: {} to applicants the base ranks higher (the student was number {own}; the last one taken was number {last}).",
            seats_went(seats)
        ),
        (Lang::Zh, "full_with_higher_ranked") => format!(
            "第 {rank} 志愿 {base}：{seats} 个名额都给了排序更靠前的申请人（该学生排第 {own} 位，最后录取的排第 {last} 位）。"
        ),
        (Lang::En, _) => format!("Choice {rank}, {base}: {}", refusal.message),
        (Lang::Zh, _) => format!("第 {rank} 志愿 {base}：{}", refusal.message),
    }
}

/// "its one seat went" or "all 3 seats went", in English.
pub fn seats_went(seats: u32) -> String {
    if seats == 1 {
        "its one seat went".to_owned()
    } else {
        format!("all {seats} seats went")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_heaviest_language_placemat_speaks() {
        assert_eq!(best_match("en-GB,en;q=0.9,zh-CN;q=0.8"), Some(Lang::En));
        assert_eq!(best_match("fr-FR,zh;q=0.5,en;q=0.4"), Some(Lang::Zh));
        assert_eq!(best_match("zh-TW;q=0.2,en;q=0.7"), Some(Lang::En));
        assert_eq!(best_match("fr,de;q=0.5"), None);
        assert_eq!(best_match("en;q=0"), None);
    }
}
