/* The pure parts of the meeting layer: client frames (meeting_proto.c) and the conversation ->
 * room registry (meeting_room.c). The relay itself is tested against a real Janus by
 * tests/integration/meeting.test.js and in a browser by tests/e2e/meeting_call.test.js. */
#include "media/meeting_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#define CONV "01JD2V7Q5ZC8W0X3N4M5P6R7S8"
#define SDP "v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n"

static int parse(const char *text, meeting_req *q, char *why)
{
    json_error_t e;
    json_t *o = json_loads(text, 0, &e);
    assert_non_null(o);
    int rc = meeting_req_parse(o, q, why, 160);
    json_decref(o);
    return rc;
}

static void test_frames_accepted(void **state)
{
    (void)state;
    meeting_req q;
    char why[160] = "";
    assert_int_equal(
        parse("{\"type\":\"meeting.join\",\"id\":\"j-1\",\"conversation\":\"" CONV "\"}", &q, why),
        CC_OK);
    assert_int_equal(q.type, MEETING_JOIN);
    assert_string_equal(q.conversation, CONV);
    assert_string_equal(q.id, "j-1");
    assert_false(q.consultation);
    meeting_req_clear(&q);

    /* the host's frames */
    assert_int_equal(
        parse("{\"type\":\"meeting.remove\",\"room\":\"12\",\"feed\":\"a-1\"}", &q, why), CC_OK);
    assert_int_equal(q.type, MEETING_REMOVE);
    assert_string_equal(q.feed, "a-1");
    meeting_req_clear(&q);
    assert_int_equal(parse("{\"type\":\"meeting.lock\",\"room\":\"12\",\"locked\":true}", &q, why),
                     CC_OK);
    assert_true(q.locked);
    meeting_req_clear(&q);

    /* a consultation's call: the same id field, told apart by the flag */
    assert_int_equal(parse("{\"type\":\"meeting.join\",\"consultation\":\"" CONV "\"}", &q, why),
                     CC_OK);
    assert_string_equal(q.conversation, CONV);
    assert_true(q.consultation);
    meeting_req_clear(&q);

    assert_int_equal(parse("{\"type\":\"meeting.publish\",\"room\":\"4611686018427387904\","
                           "\"jsep\":{\"type\":\"offer\",\"sdp\":\"" SDP "\"}}",
                           &q, why),
                     CC_OK);
    assert_string_equal(q.room, "4611686018427387904");
    /* rebuilt: only type and sdp */
    assert_int_equal(json_object_size(q.jsep), 2);
    assert_string_equal(json_string_value(json_object_get(q.jsep, "sdp")),
                        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n");
    meeting_req_clear(&q);

    assert_int_equal(parse("{\"type\":\"meeting.subscribe\",\"room\":\"12\",\"streams\":"
                           "[{\"feed\":\"a-b_9\",\"mid\":\"0\"},{\"feed\":\"x\"}],"
                           "\"unsubscribe\":[{\"feed\":\"y\"}]}",
                           &q, why),
                     CC_OK);
    assert_int_equal(json_array_size(q.subscribe), 2);
    assert_int_equal(json_array_size(q.unsubscribe), 1);
    meeting_req_clear(&q);

    assert_int_equal(parse("{\"type\":\"meeting.trickle\",\"room\":\"12\",\"target\":"
                           "\"subscriber\",\"candidate\":{\"candidate\":\"candidate:1 1 udp 1 "
                           "10.99.0.1 5000 typ host\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0,"
                           "\"usernameFragment\":\"abcd\"}}",
                           &q, why),
                     CC_OK);
    assert_int_equal(q.target, MEETING_TARGET_SUBSCRIBER);
    assert_non_null(q.candidate);
    assert_null(json_object_get(q.candidate, "usernameFragment"));
    meeting_req_clear(&q);

    /* the end of candidates: null, {"completed":true} or an empty candidate */
    assert_int_equal(parse("{\"type\":\"meeting.trickle\",\"room\":\"12\",\"target\":"
                           "\"publisher\",\"candidate\":null}",
                           &q, why),
                     CC_OK);
    assert_null(q.candidate);
    meeting_req_clear(&q);
    assert_int_equal(parse("{\"type\":\"meeting.trickle\",\"room\":\"12\",\"target\":"
                           "\"publisher\",\"candidate\":{\"completed\":true}}",
                           &q, why),
                     CC_OK);
    assert_null(q.candidate);
    meeting_req_clear(&q);

    assert_int_equal(parse("{\"type\":\"meeting.leave\",\"room\":\"7\"}", &q, why), CC_OK);
    assert_int_equal(q.type, MEETING_LEAVE);
    meeting_req_clear(&q);

    /* the host's answer to a guest waiting in the lobby */
    assert_int_equal(
        parse("{\"type\":\"meeting.admit\",\"room\":\"7\",\"guest\":\"Ab-_0123456789xy\"}", &q,
              why),
        CC_OK);
    assert_int_equal(q.type, MEETING_ADMIT);
    assert_string_equal(q.guest, "Ab-_0123456789xy");
    meeting_req_clear(&q);
    assert_int_equal(parse("{\"type\":\"meeting.deny\",\"room\":\"7\",\"guest\":\"g1\"}", &q, why),
                     CC_OK);
    assert_int_equal(q.type, MEETING_DENY);
    meeting_req_clear(&q);
    assert_int_equal(parse("{\"type\":\"meeting.limits\",\"room\":\"7\",\"max_participants\":12,"
                           "\"bitrate\":256000}",
                           &q, why),
                     CC_OK);
    assert_int_equal(q.max_participants, 12);
    assert_int_equal(q.bitrate, 256000);
    meeting_req_clear(&q);
}

static void test_frames_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"type\":\"meeting.dance\"}",
        "{\"type\":\"meeting.join\"}",
        "{\"type\":\"meeting.join\",\"conversation\":\"short\"}",
        "{\"type\":\"meeting.join\",\"consultation\":\"short\"}",
        "{\"type\":\"meeting.remove\",\"room\":\"12\"}",
        "{\"type\":\"meeting.remove\",\"room\":\"12\",\"feed\":\"a b\"}",
        "{\"type\":\"meeting.mute\",\"room\":\"12\",\"feed\":7}",
        "{\"type\":\"meeting.lock\",\"room\":\"12\"}",
        "{\"type\":\"meeting.lock\",\"room\":\"12\",\"locked\":\"yes\"}",
        "{\"type\":\"meeting.end\",\"room\":\"12\",\"feed\":\"x\"}",
        "{\"type\":\"meeting.join\",\"consultation\":null}",
        "{\"type\":\"meeting.join\",\"conversation\":\"" CONV "\",\"consultation\":\"" CONV "\"}",
        "{\"type\":\"meeting.join\",\"conversation\":\"" CONV "\",\"consultation\":null}",
        "{\"type\":\"meeting.join\",\"conversation\":\"" CONV "\",\"room\":\"1\"}",
        "{\"type\":\"meeting.join\",\"conversation\":\"" CONV "\",\"id\":\"a b\"}",
        "{\"type\":\"meeting.leave\"}",
        "{\"type\":\"meeting.leave\",\"room\":\"0\"}",
        "{\"type\":\"meeting.leave\",\"room\":\"01\"}",
        "{\"type\":\"meeting.leave\",\"room\":\"12a\"}",
        "{\"type\":\"meeting.leave\",\"room\":12}",
        "{\"type\":\"meeting.leave\",\"room\":\"123456789012345678901\"}",
        "{\"type\":\"meeting.leave\",\"room\":\"1\",\"pin\":\"1234\"}",
        "{\"type\":\"meeting.leave\",\"room\":\"1\",\"secret\":\"s\"}",
        "{\"type\":\"meeting.publish\",\"room\":\"1\"}",
        "{\"type\":\"meeting.publish\",\"room\":\"1\",\"jsep\":{\"type\":\"answer\",\"sdp\":\"" SDP
        "\"}}",
        "{\"type\":\"meeting.publish\",\"room\":\"1\",\"jsep\":{\"type\":\"offer\",\"sdp\":\"x=1\"}"
        "}",
        "{\"type\":\"meeting.publish\",\"room\":\"1\",\"jsep\":{\"type\":\"offer\",\"sdp\":\"" SDP
        "\",\"trickle\":false}}",
        "{\"type\":\"meeting.answer\",\"room\":\"1\",\"jsep\":{\"type\":\"offer\",\"sdp\":\"" SDP
        "\"}}",
        "{\"type\":\"meeting.subscribe\",\"room\":\"1\"}",
        "{\"type\":\"meeting.subscribe\",\"room\":\"1\",\"streams\":[]}",
        "{\"type\":\"meeting.subscribe\",\"room\":\"1\",\"streams\":[{\"feed\":1}]}",
        "{\"type\":\"meeting.subscribe\",\"room\":\"1\",\"streams\":[{\"feed\":\"a\",\"x\":1}]}",
        "{\"type\":\"meeting.subscribe\",\"room\":\"1\",\"streams\":[{\"feed\":\"a/b\"}]}",
        "{\"type\":\"meeting.trickle\",\"room\":\"1\",\"target\":\"publisher\"}",
        "{\"type\":\"meeting.trickle\",\"room\":\"1\",\"target\":\"other\",\"candidate\":null}",
        "{\"type\":\"meeting.trickle\",\"room\":\"1\",\"target\":\"publisher\",\"candidate\":5}",
        "{\"type\":\"meeting.admit\",\"room\":\"1\"}",
        "{\"type\":\"meeting.admit\",\"room\":\"1\",\"guest\":\"Ab-_0123456789xyz\"}",
        "{\"type\":\"meeting.deny\",\"room\":\"1\",\"guest\":\"a b\"}",
        "{\"type\":\"meeting.deny\",\"guest\":\"g1\"}",
        "{\"type\":\"meeting.admit\",\"room\":\"1\",\"guest\":\"g1\",\"display\":\"x\"}",
        "{\"type\":\"meeting.limits\",\"room\":\"1\"}",
        "{\"type\":\"meeting.limits\",\"room\":\"1\",\"max_participants\":1}",
        "{\"type\":\"meeting.limits\",\"room\":\"1\",\"max_participants\":\"5\"}",
        "{\"type\":\"meeting.limits\",\"room\":\"1\",\"bitrate\":1000}",
        "{\"type\":\"meeting.limits\",\"room\":\"1\",\"bitrate\":9000000}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        meeting_req q;
        char why[160] = "";
        if (parse(bad[i], &q, why) != CC_ERR_INVALID)
            fail_msg("accepted: %s", bad[i]);
        assert_true(why[0] != '\0');
        assert_null(q.jsep);
        assert_null(q.subscribe);
        meeting_req_clear(&q);
    }
    /* the request id and name survive a refusal, to answer it */
    meeting_req q;
    char why[160];
    assert_int_equal(parse("{\"type\":\"meeting.leave\",\"id\":\"r7\",\"room\":\"x\"}", &q, why),
                     CC_ERR_INVALID);
    assert_string_equal(q.id, "r7");
    assert_string_equal(q.name, "meeting.leave");
    meeting_req_clear(&q);
}

static void test_rooms(void **state)
{
    (void)state;
    int64_t before = cc_mem_live_bytes();
    meeting_rooms *rs = meeting_rooms_new();
    assert_non_null(rs);
    assert_null(meeting_rooms_get(rs, CONV, false));
    meeting_room *a = meeting_rooms_get(rs, CONV, true);
    meeting_room *b = meeting_rooms_get(rs, "01JD2V7Q5ZC8W0X3N4M5P6R7S9", true);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_equal(meeting_rooms_get(rs, CONV, true), a); /* stable: same id, same secret */
    assert_string_not_equal(a->id, b->id);
    assert_string_not_equal(a->secret, b->secret);
    assert_true(strlen(a->secret) >= 32 && strlen(a->pin) >= 20);
    assert_true(a->id[0] >= '1' && a->id[0] <= '9' && strlen(a->id) <= MEETING_ROOM_ID_MAX);
    assert_ptr_equal(meeting_rooms_by_id(rs, a->id), a);
    assert_null(meeting_rooms_by_id(rs, "12345"));
    assert_int_equal(meeting_rooms_count(rs), 2);
    assert_int_equal(a->state, MEETING_ROOM_ABSENT);

    meeting_conn_list l = {0}, out;
    for (net_ws_conn c = 1; c <= 10; c++)
        assert_int_equal(meeting_conn_list_add(&l, c), CC_OK);
    assert_int_equal(meeting_conn_list_add(&l, 3), CC_OK); /* no duplicate */
    assert_int_equal(l.n, 10);
    meeting_conn_list_remove(&l, 3);
    meeting_conn_list_remove(&l, 42);
    assert_int_equal(l.n, 9);
    assert_int_equal(l.v[2], 4);
    meeting_conn_list_take(&l, &out);
    assert_int_equal(l.n, 0);
    assert_null(l.v);
    assert_int_equal(out.n, 9);
    cc_free(&out.v);
    meeting_rooms_free(rs);
    assert_int_equal(cc_mem_live_bytes(), before);
}

int main(void)
{
    if (cc_crypto_init() != CC_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_accepted),
        cmocka_unit_test(test_frames_refused),
        cmocka_unit_test(test_rooms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
