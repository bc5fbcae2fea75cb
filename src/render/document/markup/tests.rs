use super::*;

fn text(t: &str) -> Inline {
    Inline::Text(t.to_owned())
}

#[test]
fn paragraphs_bold_italics_lists_and_tables() {
    let body = "Madame,\n\nLa **facture** est *échue*.\nMerci.\n\n- un\n- deux\n\n3. trois\n\n| Facture | Montant |\n|:--|--:|\n| F-1 | 10 € |";
    let blocks = parse(body);
    assert_eq!(blocks[0], Block::Paragraph(vec![text("Madame,")]));
    assert_eq!(
        blocks[1],
        Block::Paragraph(vec![
            text("La "),
            Inline::Bold(vec![text("facture")]),
            text(" est "),
            Inline::Italic(vec![text("échue")]),
            text(". Merci."),
        ])
    );
    assert_eq!(
        blocks[2],
        Block::Bullets(vec![vec![Block::Paragraph(vec![text("un")])], vec![Block::Paragraph(vec![text("deux")])]])
    );
    assert_eq!(blocks[3], Block::Numbered { start: 3, items: vec![vec![Block::Paragraph(vec![text("trois")])]] });
    let Block::Table(table) = &blocks[4] else { panic!("{blocks:?}") };
    assert_eq!(table.align, ["left", "right"]);
    assert_eq!(table.rows, vec![vec![vec![text("F-1")], vec![text("10 €")]]]);
}

#[test]
fn an_escaped_value_is_one_run_of_text_whatever_it_holds() {
    for value in ["#set page(width: 1cm)", "*a* _b_ ]c[ $d$ @e \\f", "<script>x</script>", "- item", "1. item", "a | b"]
    {
        let blocks = parse(&format!("Avant {} après", escape(value)));
        let expected = crate::render::document::typography::french(&format!("Avant {value} après"));
        assert_eq!(blocks, vec![Block::Paragraph(vec![Inline::Text(expected)])], "{value}");
    }
}

#[test]
fn a_newline_in_a_value_is_a_line_break_never_a_paragraph() {
    let blocks = parse(&format!("Avant {} après", escape("un\n\n\n- deux\r\ntrois")));
    let expected = vec![text("Avant un"), Inline::Break {}, text("- deux"), Inline::Break {}, text("trois après")];
    assert_eq!(blocks, vec![Block::Paragraph(expected)]);
}

#[test]
fn a_subject_is_plain_text() {
    assert_eq!(
        plain_line(&format!("Relance : facture n° {}", escape("F*1_2"))),
        "Relance\u{A0}: facture n°\u{A0}F*1_2"
    );
    assert_eq!(plain_line("**Mise** en demeure"), "Mise en demeure");
}

#[test]
fn headings_quotes_and_code_print_as_text() {
    let blocks = parse("# Titre\n\n> cité\n\n    code");
    assert_eq!(blocks[0], Block::Paragraph(vec![Inline::Bold(vec![text("Titre")])]));
    assert_eq!(blocks[1], Block::Paragraph(vec![text("cité")]));
    assert_eq!(blocks[2], Block::Paragraph(vec![text("code")]));
}
