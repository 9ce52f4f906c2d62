/* plog-record-private.h: one op <-> the bytes of one record
 *
 * Pure functions: no I/O, no allocation but the decoded op. The format is
 * written down in docs/format.md.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "plog-op.h"

G_BEGIN_DECLS

/* u32 LE payload length, u32 LE CRC-32C of the payload */
#define PLOG_RECORD_HEADER_SIZE 8
#define PLOG_RECORD_MAX_PAYLOAD (PLOG_OP_MAX_SIZE - PLOG_RECORD_HEADER_SIZE)

typedef enum
{
  PLOG_RECORD_FLAG_PUT           = 1 << 0,
  PLOG_RECORD_FLAG_CLEAR         = 1 << 1,
  PLOG_RECORD_FLAG_KEY           = 1 << 2,
  PLOG_RECORD_FLAG_SUB_KEY       = 1 << 3,
  PLOG_RECORD_FLAG_VALUE         = 1 << 4,
  PLOG_RECORD_FLAG_TIMESTAMP     = 1 << 5,
  PLOG_RECORD_FLAG_CONFIGURATION = 1 << 6,
  PLOG_RECORD_FLAGS_KNOWN        = 0x7f,
} PlogRecordFlags;

/* A parsed record: pointers into the payload it was parsed from. */
typedef struct
{
  guint8        flags;
  const guint8 *key;
  gsize         key_len;
  const guint8 *sub_key;
  gsize         sub_key_len;
  const guint8 *value;
  gsize         value_len;
  gint64        timestamp;
  const guint8 *configuration;      /* the encoded pairs */
  gsize         configuration_len;
  guint32       n_configuration;
} PlogRecordView;

typedef enum
{
  PLOG_RECORD_OK,         /* a whole, good record */
  PLOG_RECORD_SHORT,      /* the bytes end inside the record */
  PLOG_RECORD_BAD,        /* a length out of bounds, a wrong CRC, a bad payload */
} PlogRecordStatus;

/* The whole size of the record of @op, header included. */
gsize            plog_record_size          (PlogOp              *op);
/* Writes the record of @op to @buf, which has room for
 * plog_record_size (@op) bytes; returns that size. */
gsize            plog_record_encode        (PlogOp              *op,
                                            guint8              *buf);
/* Looks at the record at the start of @buf. With PLOG_RECORD_OK,
 * @record_size is its whole size and @view (when not NULL) its fields.
 * With PLOG_RECORD_SHORT, @record_size is the size it claims (or
 * PLOG_RECORD_HEADER_SIZE when even the header is cut). */
PlogRecordStatus plog_record_check         (const guint8        *buf,
                                            gsize                avail,
                                            gsize               *record_size,
                                            PlogRecordView      *view);
/* Parses a payload whose CRC was checked. */
gboolean         plog_record_parse_payload (const guint8        *payload,
                                            gsize                len,
                                            PlogRecordView      *view);
/* Moves the pointers of @view, parsed from a record at @from, to a copy
 * of that record at @to. */
void             plog_record_view_rebase   (PlogRecordView      *view,
                                            const guint8        *from,
                                            const guint8        *to);
/* A new op holding copies of the fields of @view. */
PlogOp          *plog_record_view_to_op    (const PlogRecordView *view);

G_END_DECLS
