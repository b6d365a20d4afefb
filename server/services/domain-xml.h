/*
 * Questions about a domain's live XML, answered with libxml2's XPath rather than string
 * searches: libvirt reports some lookups (an unknown console device, a graphics index
 * past the last one) only as INTERNAL_ERROR, and handlers ask the XML first to answer
 * NOT_FOUND instead.
 */
#pragma once

#include <libvirt/libvirt.h>

#include "server/transport/call.h"

/*
 * Evaluates the XPath expression `count_expression` (a number, e.g.
 * "count(/domain/devices/graphics)") against `domain`'s live XML, with the variable
 * $name bound to `name` (may be NULL when the expression does not use it). Records a
 * failure and returns -1 when libvirt cannot give the XML.
 */
int vg_domain_xml_count(vg_call *call, virDomainPtr domain, const char *count_expression,
                        const char *name, unsigned int *count);
