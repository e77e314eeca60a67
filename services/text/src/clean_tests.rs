//! Stripping tests on realistic 20 Newsgroups-like and e-mail samples.

use super::*;

const ALL: CleanOptions = CleanOptions {
    headers: true,
    quotes: true,
    signatures: true,
};

fn cleaned(text: &str) -> String {
    clean(text, ALL).into_owned()
}

const NEWS_POST: &str = "From: jsmith@cs.cmu.edu (John Smith)
Subject: Re: Which engine oil for winter?
Organization: Carnegie Mellon University
Lines: 14

In article <1993Apr5.123456.1234@news.cso.uiuc.edu> bob@uiuc.edu (Bob Jones) writes:
>I always use 10W-30 in my Saab.
>> Older quote.
|> Another quoting style.

Synthetic oil is worth it in cold climates: the engine turns over faster.

-- 
John Smith  | jsmith@cs.cmu.edu
\"My opinions are my own.\"
";

#[test]
fn news_post_keeps_only_the_authors_words() {
    assert_eq!(
        cleaned(NEWS_POST),
        "Synthetic oil is worth it in cold climates: the engine turns over faster."
    );
}

#[test]
fn each_step_can_be_switched_off() {
    let none = CleanOptions {
        headers: false,
        quotes: false,
        signatures: false,
    };
    assert!(matches!(clean(NEWS_POST, none), Cow::Borrowed(s) if s == NEWS_POST));
    let headers_only = CleanOptions {
        headers: true,
        quotes: false,
        signatures: false,
    };
    let h = clean(NEWS_POST, headers_only);
    assert!(h.starts_with("In article <1993Apr5"));
    assert!(h.contains("John Smith  |"));
    let quotes_only = CleanOptions {
        headers: false,
        quotes: true,
        signatures: false,
    };
    let q = clean(NEWS_POST, quotes_only);
    assert!(q.starts_with("From: jsmith"));
    assert!(!q.contains("Saab") && !q.contains("Another quoting") && !q.contains("Bob Jones"));
    assert!(q.contains("My opinions"));
}

#[test]
fn without_quotes_the_result_is_borrowed() {
    let text = "From: a@b.org\nSubject: hi\n\nBody text.\n-- \nsig";
    assert!(matches!(clean(text, ALL), Cow::Borrowed("Body text.")));
}

#[test]
fn prose_with_colons_is_not_a_header() {
    for text in [
        "Note: the server is down.\n\nPlease restart it.",
        "Hello team,\nSubject: budget\n\nbody",
        "Summary: great\nThis line is prose, not a field\n\nmore",
    ] {
        assert_eq!(cleaned(text), text, "{text:?}");
    }
}

#[test]
fn header_block_variants() {
    // mbox envelope, folded continuation line, CRLF line ends, X- fields.
    let text = "From bob@x.org Mon Apr  5 10:00:00 1993\r\nX-Mailer: mutt\r\nReceived: from a\r\n\tby b; Mon\r\n\r\nHello there.";
    assert_eq!(cleaned(text), "Hello there.");
    // Only headers, no body: nothing left to show.
    assert_eq!(cleaned("Subject: empty\nFrom: a@b.org\n"), "");
}

#[test]
fn email_reply_styles() {
    let gmail = "Thanks, that fixed the printer driver.\n\nOn Mon, Jan 6, 2020 at 10:00 AM Jane Doe <jane@example.com>\nwrote:\n> Did you try reinstalling?\n> Jane\n";
    assert_eq!(cleaned(gmail), "Thanks, that fixed the printer driver.");
    let outlook = "Please refund order 42.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nSubject: order 42\n\nYour order shipped.";
    assert_eq!(cleaned(outlook), "Please refund order 42.");
    let outlook2 = "See attached invoice.\n________________________________\nFrom: Billing <b@x.com>\nSent: Tuesday\n\nold text";
    assert_eq!(cleaned(outlook2), "See attached invoice.");
    let supercite = "JD> the old words\nJD>> older words\nMy new words.";
    assert_eq!(cleaned(supercite), "My new words.");
}

#[test]
fn signatures_need_a_delimiter_near_the_end() {
    // A rule line near the end starts a signature.
    assert_eq!(
        cleaned("The gearbox failed twice.\n\n--Joe\nAcme Corp"),
        "The gearbox failed twice."
    );
    assert_eq!(
        cleaned("Body here.\n=========\nBob | bob@x.org\nAcme"),
        "Body here."
    );
    assert_eq!(cleaned("Try Radio Shack.\n\n--kyler\n"), "Try Radio Shack.");
    // A closing rule with nothing below is just a rule.
    assert_eq!(cleaned("Table:\n-----"), "Table:\n-----");
    // A `-- ` far from the end is not a signature (more than 15 lines follow).
    let long_tail = format!("intro\n-- \n{}", "content line\n".repeat(20));
    assert_eq!(
        cleaned(&long_tail),
        long_tail.trim_end_matches(['\n']).to_owned() + "\n"
    );
    // Nothing above the delimiter: keep the text rather than return nothing.
    assert_eq!(cleaned("-- \nonly a signature"), "-- \nonly a signature");
    // A plain last paragraph is not a signature (unlike scikit-learn's footer rule).
    assert_eq!(
        cleaned("First paragraph.\n\nLast paragraph."),
        "First paragraph.\n\nLast paragraph."
    );
}

#[test]
fn leading_blank_lines_left_by_quotes_go_but_indentation_stays() {
    assert_eq!(
        cleaned(">quoted\n\n    indented code\nmore"),
        "    indented code\nmore"
    );
}

#[test]
fn prose_mentioning_writing_survives() {
    let text = "He wrote a book about engines\nand it sold well.";
    assert_eq!(cleaned(text), text);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics_and_keeps_only_input_lines(s in "(\\PC|\n|>|-- |--\n|: |\r){0,200}", h: bool, q: bool, g: bool) {
            let out = clean(&s, CleanOptions { headers: h, quotes: q, signatures: g });
            // Every output line is an input line (stripping never rewrites text).
            for line in out.lines() {
                prop_assert!(s.contains(line));
            }
            prop_assert!(out.len() <= s.len());
        }

        #[test]
        fn disabled_is_identity(s in "\\PC{0,100}") {
            let none = CleanOptions { headers: false, quotes: false, signatures: false };
            prop_assert_eq!(clean(&s, none), Cow::Borrowed(s.as_str()));
        }

        #[test]
        fn header_and_quote_stripping_are_idempotent_on_quotes(body in "[a-z ]{1,30}", quoted in "[a-z ]{0,30}") {
            let text = format!("{body}\n> {quoted}\n{body}");
            let once = clean(&text, ALL).into_owned();
            let twice = clean(&once, ALL).into_owned();
            prop_assert_eq!(once, twice);
        }
    }
}

/// The former `strip_quotes` (a vector of lines, every line tested in full), as the reference
/// for the one-pass version with its byte prefilter.
fn strip_quotes_reference(text: &str) -> Cow<'_, str> {
    let mut lines: Vec<(&str, bool)> = Vec::new();
    let mut dropped = false;
    let mut pos = 0;
    while pos < text.len() {
        let (line, next) = line_at(text, pos);
        let with_newline = &text[pos..next];
        let bare = line.trim_end_matches('\r');
        if starts_original(bare, &text[next..]) {
            dropped = true;
            break;
        }
        let drop = is_quote(bare) || is_attribution(bare);
        if drop && is_attribution(bare) {
            if let Some(prev) = lines.last_mut() {
                if prev.1
                    && prev.0.trim_start().starts_with("On ")
                    && !bare.trim_start().starts_with("On ")
                {
                    prev.1 = false;
                }
            }
        }
        dropped |= drop;
        lines.push((with_newline, !drop));
        pos = next;
    }
    if !dropped {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for (line, keep) in lines {
        if keep {
            out.push_str(line);
        }
    }
    Cow::Owned(out)
}

#[test]
fn one_pass_quote_stripping_matches_the_reference_on_samples() {
    for text in [
        NEWS_POST,
        "On Mon, 5 Apr 1993, Bob <b@c.d>\nwrote:\n> hi\nmine\n",
        "mine\nOn Tue, Bob\nwrote:\n> hi\nOn x\nOn y wrote:\nend",
        "a\n-----Original Message-----\nFrom: x\nbody",
        "a\n__________\nFrom: x\nbody",
        "JD> quoted\nJD>> more\nABCDE> not initials\n  > indented\n    > too deep",
        "Bob writes in message <x@y>\nkept\n Bob writes in message \n",
        "In article <a@b> c writes:\r\n>q\r\nkept\r\n",
    ] {
        assert_eq!(
            strip_quotes(text, None),
            strip_quotes_reference(text),
            "{text:?}"
        );
    }
}

mod one_pass {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        #[test]
        fn matches_reference_ascii(
            s in "(On |wrote:|writes:|said:|says:|In article <|> |>|\\||JD> |  > |----- Original Message -----|-----Original message-----|__________\nFrom:| writes in message |\n|\r\n|\t|\x0b| |[a-zA-Z:_>-]){0,80}"
        ) {
            prop_assert_eq!(strip_quotes(&s, None), strip_quotes_reference(&s));
        }

        #[test]
        fn matches_reference_any(s in "(\\PC|\n|> |wrote:|On |\u{a0}|In article <){0,80}") {
            prop_assert_eq!(strip_quotes(&s, None), strip_quotes_reference(&s));
        }

        #[test]
        fn prefilter_passes_every_special_ascii_line(line in "[ -~\t\x0b\x0c]{0,30}(wrote:|writes:|>|:)?[ \t\x0b\x0c]{0,3}") {
            let special = is_quote(&line) || is_attribution(&line) || starts_original(&line, "From: x");
            if special {
                prop_assert!(maybe_special(line.as_bytes(), false), "{:?}", line);
            }
        }
    }
}
