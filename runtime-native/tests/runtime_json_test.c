/* json.c: strictness, error positions, exact integers, escapes, and the writer. */
#include "json.h"
#include "runtime_test.h"

#include <stdint.h>
#include <stdlib.h>

static struct tn_json *
parse_ok (const char *text)
{
  struct tn_json *v = NULL;
  struct tn_error *e = NULL;
  if (tn_json_parse (text, strlen (text), &v, &e) < 0)
    {
      fprintf (stderr, "unexpected parse error for %s: %s\n", text, tn_error_text (e));
      tn_error_free (&e);
      return NULL;
    }
  return v;
}

/* The error text for an invalid document (heap copy), or NULL when it parsed. */
static char *
parse_err (const char *text)
{
  struct tn_json *v = NULL;
  struct tn_error *e = NULL;
  if (tn_json_parse (text, strlen (text), &v, &e) == 0)
    {
      tn_json_free (v);
      return NULL;
    }
  char *msg = strdup (tn_error_text (e));
  tn_error_free (&e);
  return msg;
}

static void
test_invalid (void)
{
  static const char *const bad[] = {
    "", "{", "{\"a\":1,}", "[1,2,]", "{'a':1}", "{\"a\" 1}", "01", "1.", ".5", "-", "+1", "NaN", "tru",
    "\"unterminated", "\"tab\there\"", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "{} extra", "[1 2]", "{\"a\":1 \"b\":2}",
    "\"\\u0000\"", "\xff", "\"\xc3\"", "\"\xed\xa0\x80\"", "/* c */ 1",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      char *msg = parse_err (bad[i]);
      if (msg == NULL)
        fprintf (stderr, "accepted invalid JSON #%zu: %s\n", i, bad[i]);
      CHECK (msg != NULL);
      free (msg);
    }
  char *msg = parse_err ("{\n  \"a\": 1,\n  \"b\": [1, 2,]\n}");
  CHECK_HAS (msg, "line 3 column");
  CHECK_HAS (msg, "trailing comma");
  free (msg);
  msg = parse_err ("{\"a\": 1");
  CHECK_HAS (msg, "line 1 column 8");
  free (msg);
}

static void
test_values (void)
{
  struct tn_json *v = parse_ok ("{\"a\": [true, false, null], \"s\": \"x\\n\\u00e9\\ud83d\\ude00\\\"\", \"a\": 2}");
  CHECK (v && v->type == TN_JSON_OBJECT && v->n == 3);
  /* a repeated key: the last wins */
  struct tn_json *a = tn_json_get (v, "a");
  int64_t i64;
  CHECK (a && a->type == TN_JSON_NUMBER && tn_json_to_int64 (a, &i64) == 0 && i64 == 2);
  CHECK_STR (tn_json_get (v, "s")->text, "x\n\xc3\xa9\xf0\x9f\x98\x80\"");
  CHECK (tn_json_get (v, "missing") == NULL);
  tn_json_free (v);

  v = parse_ok ("[18446744073709551615, -9223372036854775808, 1e3, 1.50e1, 2.5, 18446744073709551616, -1]");
  uint64_t u;
  CHECK (tn_json_to_uint64 (v->items[0], &u) == 0 && u == UINT64_MAX);
  CHECK (tn_json_to_int64 (v->items[0], &i64) < 0);
  CHECK (tn_json_to_int64 (v->items[1], &i64) == 0 && i64 == INT64_MIN);
  CHECK (tn_json_to_int64 (v->items[2], &i64) == 0 && i64 == 1000);
  CHECK (tn_json_to_int64 (v->items[3], &i64) == 0 && i64 == 15);
  CHECK (tn_json_to_int64 (v->items[4], &i64) < 0);
  CHECK (tn_json_to_uint64 (v->items[5], &u) < 0);
  CHECK (tn_json_to_uint64 (v->items[6], &u) < 0);
  CHECK (tn_json_to_int64 (v->items[6], &i64) == 0 && i64 == -1);
  tn_json_free (v);

  /* a byte order mark is tolerated; deep nesting is refused */
  v = parse_ok ("\xEF\xBB\xBF {}");
  CHECK (v && v->type == TN_JSON_OBJECT);
  tn_json_free (v);
  char deep[2000];
  memset (deep, '[', 1000);
  memset (deep + 1000, ']', 1000);
  deep[sizeof deep - 1] = '\0';
  deep[999] = '[';
  char *msg = parse_err (deep);
  CHECK_HAS (msg, "nesting too deep");
  free (msg);
}

static void
test_writer (void)
{
  struct tn_jw w;
  tn_jw_init (&w, 0);
  tn_jw_begin_object (&w);
  tn_jw_kv_string (&w, "a", "q\"\\\n\x01");
  tn_jw_key (&w, "b");
  tn_jw_begin_array (&w);
  tn_jw_int (&w, -5);
  tn_jw_uint (&w, UINT64_MAX);
  tn_jw_bool (&w, true);
  tn_jw_null (&w);
  tn_jw_begin_object (&w);
  tn_jw_end_object (&w);
  tn_jw_end_array (&w);
  tn_jw_end_object (&w);
  char *out = tn_jw_finish (&w);
  CHECK_STR (out, "{\"a\":\"q\\\"\\\\\\n\\u0001\",\"b\":[-5,18446744073709551615,true,null,{}]}");
  /* round trip through the parser and the re-serialiser */
  struct tn_json *v = parse_ok (out);
  tn_jw_init (&w, 0);
  tn_jw_value (&w, v);
  char *again = tn_jw_finish (&w);
  CHECK_STR (again, out);
  free (again);
  tn_json_free (v);
  free (out);

  tn_jw_init (&w, 2);
  tn_jw_begin_object (&w);
  tn_jw_kv_int (&w, "x", 1);
  tn_jw_key (&w, "y");
  tn_jw_begin_array (&w);
  tn_jw_end_array (&w);
  tn_jw_end_object (&w);
  out = tn_jw_finish (&w);
  CHECK_STR (out, "{\n  \"x\": 1,\n  \"y\": []\n}\n");
  free (out);
}

int
main (void)
{
  test_invalid ();
  test_values ();
  test_writer ();
  return tn_test_done ();
}
