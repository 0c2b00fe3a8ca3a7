from templates import language_of, message


def test_a_customer_is_greeted_in_their_language() -> None:
    assert message("greeting", "en-US", name="Emily") == "Hello, Emily! This is customer service."
    assert message("greeting", "zh", name="王芳") == "您好，王芳！这里是客户服务中心。"


def test_an_unknown_language_falls_back_to_chinese() -> None:
    assert language_of("fr") == "zh"
    assert message("greeting", "fr", name="") == "您好！这里是客户服务中心。"


def test_html_templates_escape_customer_data() -> None:
    from templates import environment

    template = environment().from_string("<b>{{ name }}</b>")
    assert template.render(name="<script>") == "<b>&lt;script&gt;</b>"
