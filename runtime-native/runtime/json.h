/* A small, strict JSON reader and writer (RFC 8259): no comments, no trailing commas, no NaN, no
 * leading zeros, strings must be valid UTF-8 and may not contain NUL. Numbers keep their source
 * text so 64-bit integers convert exactly. Objects keep their members in source order; a repeated
 * key is allowed and the last one wins on lookup, as Go's encoding/json does. */
#ifndef TN_JSON_H
#define TN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

enum tn_json_type
{
  TN_JSON_NULL,
  TN_JSON_BOOL,
  TN_JSON_NUMBER,
  TN_JSON_STRING,
  TN_JSON_ARRAY,
  TN_JSON_OBJECT,
};

struct tn_json
{
  enum tn_json_type type;
  bool boolean;
  char *text;            /* NUMBER: its literal; STRING: its UTF-8 value */
  size_t len;            /* STRING: byte length */
  size_t n;              /* ARRAY / OBJECT: number of items */
  char **keys;           /* OBJECT */
  struct tn_json **items;
};

/* Parses `len` bytes. On failure the error says where: "line 3 column 7: expected ':'". */
int tn_json_parse (const char *data, size_t len, struct tn_json **out, struct tn_error **err);
void tn_json_free (struct tn_json *v);

/* The member `key` of an object (NULL when absent or when `obj` is not an object). */
struct tn_json *tn_json_get (const struct tn_json *obj, const char *key);
const char *tn_json_type_name (enum tn_json_type t);

/* Exact integer conversions of a NUMBER; -1 with errno ERANGE/EINVAL when it does not fit. */
int tn_json_to_int64 (const struct tn_json *v, int64_t *out);
int tn_json_to_uint64 (const struct tn_json *v, uint64_t *out);

/* A growable byte buffer; `failed` is set once an allocation fails and every later call is a no-op. */
struct tn_buf
{
  char *data;
  size_t len, cap;
  bool failed;
};

void tn_buf_add (struct tn_buf *b, const char *s, size_t n);
void tn_buf_puts (struct tn_buf *b, const char *s);
void tn_buf_printf (struct tn_buf *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* Hands the NUL-terminated contents to the caller (NULL if an allocation failed). */
char *tn_buf_steal (struct tn_buf *b);
void tn_buf_free (struct tn_buf *b);

/* A streaming writer: call the value functions in document order; commas, colons and (when
 * `indent` > 0) newlines and indentation are inserted automatically. */
struct tn_jw
{
  struct tn_buf buf;
  int indent;
  int depth;
  bool first[64];
  bool after_key;
};

void tn_jw_init (struct tn_jw *w, int indent);
void tn_jw_begin_object (struct tn_jw *w);
void tn_jw_end_object (struct tn_jw *w);
void tn_jw_begin_array (struct tn_jw *w);
void tn_jw_end_array (struct tn_jw *w);
void tn_jw_key (struct tn_jw *w, const char *key);
void tn_jw_string (struct tn_jw *w, const char *s);
void tn_jw_int (struct tn_jw *w, int64_t v);
void tn_jw_uint (struct tn_jw *w, uint64_t v);
void tn_jw_bool (struct tn_jw *w, bool v);
void tn_jw_null (struct tn_jw *w);
/* Re-serialises a parsed value (compact or indented like the writer). */
void tn_jw_value (struct tn_jw *w, const struct tn_json *v);
/* Shorthands for "key": value. */
void tn_jw_kv_string (struct tn_jw *w, const char *key, const char *s);
void tn_jw_kv_int (struct tn_jw *w, const char *key, int64_t v);
void tn_jw_kv_bool (struct tn_jw *w, const char *key, bool v);
/* The document (NUL-terminated, newline added when indented); NULL if out of memory. */
char *tn_jw_finish (struct tn_jw *w);

/* Appends `s` as a quoted JSON string. */
void tn_json_quote (struct tn_buf *b, const char *s);

#endif
