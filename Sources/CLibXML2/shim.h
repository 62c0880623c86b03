#ifndef RECKON_CLIBXML2_SHIM_H
#define RECKON_CLIBXML2_SHIM_H
// Debian's libxml2 is built with ICU; its headers would pull in the system ICU, whose
// definitions clash with Foundation's bundled copy. reckon never uses libxml2's ICU
// conversions (files are decoded by libxml2's own UTF-8/Latin codecs or rejected), so the
// ICU part of the headers is switched off before anything else is included.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlerror.h>
#include <libxml/parserInternals.h>
#endif
