/* [MS-VHDX] on-disk layout: offsets, sizes, signatures, GUIDs, little-endian access. */
#ifndef ATOLL_HV_STORAGE_VHDX_FORMAT_H
#define ATOLL_HV_STORAGE_VHDX_FORMAT_H
#include <stdint.h>

#include "hv/lib/guid.h"
#include "hv/lib/le.h"

#define VHDX_KIB 1024u
#define VHDX_MIB (1024u * 1024u)

#define VHDX_FILE_ID_OFF      0u
#define VHDX_HEADER1_OFF      (64u * VHDX_KIB)
#define VHDX_HEADER2_OFF      (128u * VHDX_KIB)
#define VHDX_REGION1_OFF      (192u * VHDX_KIB)
#define VHDX_REGION2_OFF      (256u * VHDX_KIB)
#define VHDX_HEADER_SIZE      (4u * VHDX_KIB)   /* checksummed span of a header */
#define VHDX_REGION_SIZE      (64u * VHDX_KIB)  /* checksummed span of a region table */
#define VHDX_REGION_MAX       2047u
#define VHDX_META_TABLE_SIZE  (64u * VHDX_KIB)
#define VHDX_META_MAX         2047u
#define VHDX_META_ITEM_MAX    VHDX_MIB
#define VHDX_LOG_SECTOR       4096u
#define VHDX_LOG_HDR_SIZE     64u
#define VHDX_LOG_DESC_SIZE    32u
#define VHDX_BITMAP_BLOCK     VHDX_MIB          /* a sector bitmap block */
#define VHDX_SECTORS_PER_CHUNK (1u << 23)       /* sectors one bitmap block covers */
#define VHDX_MAX_DISK_SIZE    (64ull << 40)
#define VHDX_MIN_BLOCK        VHDX_MIB
#define VHDX_MAX_BLOCK        (256u * VHDX_MIB)

/* Signatures as little-endian numbers of their ASCII text. */
#define VHDX_SIG_FILE   0x656C696678646876ull /* "vhdxfile" */
#define VHDX_SIG_HEAD   0x64616568u           /* "head" */
#define VHDX_SIG_REGI   0x69676572u           /* "regi" */
#define VHDX_SIG_META   0x617461646174656Dull /* "metadata" */
#define VHDX_SIG_LOGE   0x65676F6Cu           /* "loge" */
#define VHDX_SIG_DESC   0x63736564u           /* "desc" */
#define VHDX_SIG_ZERO   0x6F72657Au           /* "zero" */
#define VHDX_SIG_DATA   0x61746164u           /* "data" */

/* Header field offsets. */
#define VHDX_H_SIG        0
#define VHDX_H_CSUM       4
#define VHDX_H_SEQ        8
#define VHDX_H_FILE_GUID  16
#define VHDX_H_DATA_GUID  32
#define VHDX_H_LOG_GUID   48
#define VHDX_H_LOG_VER    64
#define VHDX_H_VERSION    66
#define VHDX_H_LOG_LEN    68
#define VHDX_H_LOG_OFF    72

/* Log entry header field offsets. */
#define VHDX_L_SIG        0
#define VHDX_L_CSUM       4
#define VHDX_L_LEN        8
#define VHDX_L_TAIL       12
#define VHDX_L_SEQ        16
#define VHDX_L_NDESC      24
#define VHDX_L_GUID       32
#define VHDX_L_FLUSHED    48
#define VHDX_L_LAST       56

/* BAT entry: state in bits 0-2, file offset in MiB in bits 20-63. */
enum vhdx_payload_state {
    VHDX_PB_NOT_PRESENT = 0,
    VHDX_PB_UNDEFINED = 1,
    VHDX_PB_ZERO = 2,
    VHDX_PB_UNMAPPED = 3,
    VHDX_PB_UNMAPPED_V095 = 5,
    VHDX_PB_FULLY_PRESENT = 6,
    VHDX_PB_PARTIALLY_PRESENT = 7,
};
#define VHDX_SB_NOT_PRESENT 0
#define VHDX_SB_PRESENT     6
#define VHDX_BAT_STATE(e)   ((unsigned)((e) & 7))
#define VHDX_BAT_OFFSET(e)  (((e) >> 20) << 20)
#define VHDX_BAT_MAKE(state, off) ((uint64_t)(off) | (uint64_t)(state))

/* Metadata item flags. */
#define VHDX_META_IS_USER     1u
#define VHDX_META_IS_VDISK    2u
#define VHDX_META_IS_REQUIRED 4u

/* File parameter flags. */
#define VHDX_FP_LEAVE_ALLOCATED 1u
#define VHDX_FP_HAS_PARENT      2u

extern const struct guid vhdx_guid_bat_region;
extern const struct guid vhdx_guid_metadata_region;
extern const struct guid vhdx_guid_file_parameters;
extern const struct guid vhdx_guid_disk_size;
extern const struct guid vhdx_guid_disk_id;
extern const struct guid vhdx_guid_logical_sector;
extern const struct guid vhdx_guid_physical_sector;
extern const struct guid vhdx_guid_parent_locator;
extern const struct guid vhdx_guid_locator_type_vhdx;

#endif
