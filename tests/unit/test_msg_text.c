/* Unit tests of msg's pure text functions: folding words for search (case, accents, ligatures,
 * other scripts), mentions, and highlighted snippets. */
#include "msg/msg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

/* ---- helpers -------------------------------------------------------------------------------- */

typedef struct {
    char out[1024]; /* terms joined by '|', each followed by @start-end */
    bool ranges;
} terms_buf;

static int collect_term(void *ud, const char *term, size_t len, size_t start, size_t end)
{
    terms_buf *b = ud;
    size_t o = strlen(b->out);
    assert_int_equal(strlen(term), len);
    if (b->ranges)
        snprintf(b->out + o, sizeof(b->out) - o, "%s%s@%zu-%zu", o ? "|" : "", term, start, end);
    else
        snprintf(b->out + o, sizeof(b->out) - o, "%s%s", o ? "|" : "", term);
    return 0;
}

static const char *terms_of(const char *text, bool ranges)
{
    static terms_buf b;
    memset(&b, 0, sizeof(b));
    b.ranges = ranges;
    assert_int_equal(msg_text_terms(text, strlen(text), collect_term, &b), CC_OK);
    return b.out;
}

static int collect_mention(void *ud, const char *name, size_t len)
{
    char *out = ud;
    size_t o = strlen(out);
    assert_int_equal(strlen(name), len);
    snprintf(out + o, 512 - o, "%s%s", o ? "|" : "", name);
    return 0;
}

static const char *mentions_of(const char *text)
{
    static char out[512];
    out[0] = '\0';
    assert_int_equal(msg_text_mentions(text, strlen(text), collect_mention, out), CC_OK);
    return out;
}

/* ---- folding -------------------------------------------------------------------------------- */

static void test_fold_case_and_accents(void **state)
{
    (void)state;
    assert_string_equal(terms_of("Fièvre ÉLEVÉE à l'hôpital", false), "fievre|elevee|a|l|hopital");
    assert_string_equal(terms_of("garçon François ŒDÈME cœur Æsculape straße", false),
                        "garcon|francois|oedeme|coeur|aesculape|strasse");
    assert_string_equal(terms_of("ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸ àâäçéèêëîïôöùûüÿ", false),
                        "aaaceeeeiioouuuy|aaaceeeeiioouuuy");
    /* Latin Extended-A: Polish, Czech, Turkish, Romanian names. */
    assert_string_equal(terms_of("Łódź Dvořák Şişli Ţară Ĳssel", false),
                        "lodz|dvorak|sisli|tara|ijssel");
    /* Decomposed accents (e + U+0301) fold like composed ones. */
    assert_string_equal(terms_of("e\xcc\x81le\xcc\x80ve", false), "eleve");
}

static void test_fold_separators_and_scripts(void **state)
{
    (void)state;
    /* Punctuation, typographic quotes, non-breaking spaces, emoji separate words. */
    assert_string_equal(terms_of("«\xc2\xa0urgent\xc2\xa0» — l’IRM…ok 👍fin", false),
                        "urgent|l|irm|ok|fin");
    assert_string_equal(terms_of("T° 39,5 SpO2=92%", false), "t|39|5|spo2|92");
    /* Greek and Cyrillic capitals fold to lower case; other scripts are kept as they are. */
    assert_string_equal(terms_of("ΑΛΦΑ Привет 日本", false), "αλφα|привет|日本");
    assert_string_equal(terms_of("", false), "");
    assert_string_equal(terms_of("  ...  ", false), "");
}

static void test_terms_ranges_and_limits(void **state)
{
    (void)state;
    /* Ranges are byte offsets of the word in the original text. */
    assert_string_equal(terms_of("Élevée, très", true), "elevee@0-8|tres@10-15");
    /* Invalid UTF-8 bytes separate words; nothing is read past the end. */
    assert_string_equal(terms_of("ab\xffzz\xc3", true), "ab@0-2|zz@3-5");
    assert_string_equal(terms_of("over\xc0\xaflong", false), "over|long");
    /* A word longer than MSG_TERM_MAX is indexed by its beginning. */
    char longw[200];
    memset(longw, 'x', sizeof(longw) - 1);
    longw[sizeof(longw) - 1] = '\0';
    const char *t = terms_of(longw, false);
    assert_int_equal(strlen(t), MSG_TERM_MAX);
    /* Not NUL-terminated input: only n bytes are read. */
    terms_buf b;
    memset(&b, 0, sizeof(b));
    assert_int_equal(msg_text_terms("abcdef", 3, collect_term, &b), CC_OK);
    assert_string_equal(b.out, "abc");
}

static int stop_after_one(void *ud, const char *term, size_t len, size_t start, size_t end)
{
    (void)term;
    (void)len;
    (void)start;
    (void)end;
    (*(int *)ud)++;
    return 1;
}

static int fail_at_once(void *ud, const char *term, size_t len, size_t start, size_t end)
{
    (void)ud;
    (void)term;
    (void)len;
    (void)start;
    (void)end;
    return CC_ERR_NOMEM;
}

static void test_terms_callback_control(void **state)
{
    (void)state;
    int n = 0;
    assert_int_equal(msg_text_terms("one two three", 13, stop_after_one, &n), CC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(msg_text_terms("one two", 7, fail_at_once, NULL), CC_ERR_NOMEM);
}

/* ---- mentions ------------------------------------------------------------------------------- */

static void test_mentions(void **state)
{
    (void)state;
    assert_string_equal(mentions_of("@alice voir avec @Bob.Martin, merci @carol."),
                        "alice|bob.martin|carol");
    assert_string_equal(mentions_of("@channel urgent, @here"), "channel|here");
    /* Addresses are not mentions; a lone '@' or '@@' neither. */
    assert_string_equal(mentions_of("écrire à dr.house@hopital.fr ou @ ou @@x"), "");
    assert_string_equal(mentions_of("(@dr_who) [@nurse-1]"), "dr_who|nurse-1");
    assert_string_equal(mentions_of("@é"), "");
    /* Names longer than a username can be are not mentions. */
    char longn[80];
    longn[0] = '@';
    memset(longn + 1, 'a', 70);
    longn[71] = '\0';
    assert_string_equal(mentions_of(longn), "");
    assert_string_equal(mentions_of("@ab"), "ab");
}

/* ---- snippets ------------------------------------------------------------------------------- */

static void test_snippet_highlights(void **state)
{
    (void)state;
    const char *terms[] = {"fievre", "patient"};
    const char *text = "Le patient de la 12 a une Fièvre élevée.\nPatients suivants: rien.";
    char *s = msg_text_snippet(text, strlen(text), terms, 2, 200);
    assert_non_null(s);
    assert_string_equal(s, "Le [[patient]] de la 12 a une [[Fièvre]] élevée. [[Patients]] "
                           "suivants: rien.");
    cc_free(&s);
    /* No match: the beginning of the text. */
    const char *none[] = {"zzz"};
    s = msg_text_snippet("short text", 10, none, 1, 200);
    assert_string_equal(s, "short text");
    cc_free(&s);
}

static void test_snippet_window(void **state)
{
    (void)state;
    char text[2000] = "";
    for (int i = 0; i < 60; i++)
        strcat(text, "lorem ipsum ");
    strcat(text, "la créatinine est haute ");
    for (int i = 0; i < 60; i++)
        strcat(text, "dolor sit ");
    const char *terms[] = {"creat"};
    char *s = msg_text_snippet(text, strlen(text), terms, 1, 120);
    assert_non_null(s);
    /* Cut on both sides, on word boundaries, around the match. */
    assert_true(strncmp(s, "\xe2\x80\xa6", 3) == 0);
    assert_true(strstr(s, "[[créatinine]]") != NULL);
    assert_true(strcmp(s + strlen(s) - 3, "\xe2\x80\xa6") == 0);
    assert_true(strlen(s) <= 120 + 6 + 4 + 8);
    assert_true(strstr(s, "\xe2\x80\xa6lorem") || strstr(s, "\xe2\x80\xa6ipsum"));
    cc_free(&s);
    /* Multi-byte characters are never split. */
    char accents[800] = "";
    for (int i = 0; i < 100; i++)
        strcat(accents, "ééé ");
    s = msg_text_snippet(accents, strlen(accents), terms, 1, 51);
    assert_non_null(s);
    json_t *valid = json_string(s); /* jansson refuses invalid UTF-8 */
    assert_non_null(valid);
    json_decref(valid);
    cc_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_case_and_accents),
        cmocka_unit_test(test_fold_separators_and_scripts),
        cmocka_unit_test(test_terms_ranges_and_limits),
        cmocka_unit_test(test_terms_callback_control),
        cmocka_unit_test(test_mentions),
        cmocka_unit_test(test_snippet_highlights),
        cmocka_unit_test(test_snippet_window),
    };
    return cmocka_run_group_tests_name("msg_text", tests, NULL, NULL);
}
