/*
 * crc16.h — CRC-16/XMODEM, Redis Cluster's key hash (see crc16.c).
 */
#ifndef LT_COMMON_CRC16_H
#define LT_COMMON_CRC16_H

#include <stddef.h>
#include <stdint.h>

/* CRC-16/XMODEM of buf[0..len). */
uint16_t crc16(const void *buf, size_t len);

#endif
