#include "cli.h"
#include "log.h"
#include "report.h"
#include "status.h"

int report_command(const struct config *c)
{
	log_error("report: not built yet");
	return EXIT_SUPERVISE_FAILURE;
}
