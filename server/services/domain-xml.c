#include "server/services/domain-xml.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdlib.h>
#include <string.h>

int
vg_domain_xml_count(vg_call *call, virDomainPtr domain, const char *count_expression,
                    const char *name, unsigned int *count)
{
    char *xml = virDomainGetXMLDesc(domain, 0);
    xmlDocPtr document;
    xmlXPathContextPtr context = NULL;
    xmlXPathObjectPtr result = NULL;
    int rc = -1;

    if (!xml)
        return vg_call_fail_libvirt(call);
    document = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                             XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    free(xml);
    if (document)
        context = xmlXPathNewContext(document);
    if (context && name)
        xmlXPathRegisterVariable(context, BAD_CAST "name", xmlXPathNewCString(name));
    if (context)
        result = xmlXPathEvalExpression(BAD_CAST count_expression, context);
    if (result && result->type == XPATH_NUMBER && result->floatval >= 0) {
        *count = (unsigned int)result->floatval;
        rc = 0;
    } else {
        /* libvirt's own XML always parses, and the expressions are ours. */
        vg_call_fail(call, GRPC_STATUS_INTERNAL, VG_REASON_INTERNAL,
                     "cannot evaluate '%s' on the XML of domain '%s'", count_expression,
                     virDomainGetName(domain));
    }
    xmlXPathFreeObject(result);
    xmlXPathFreeContext(context);
    xmlFreeDoc(document);
    return rc;
}
