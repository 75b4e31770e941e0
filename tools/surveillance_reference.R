# Reference outputs of R `surveillance` (1.20.3 on Debian) for the Python port in
# src/songkhoe/surveillance/{ears,cusum}.py. How to rerun: tools/surveillance_reference.md.
#
# Usage: Rscript tools/surveillance_reference.R INPUT_DIR OUTPUT_DIR
#        Rscript tools/surveillance_reference.R --cases INPUT.csv OUTPUT.csv N_LAST
#   The second form (used by tools/surveillance_check.py) runs C1, C2, C3 and cusum with defaults
#   on every unit of INPUT.csv (date,count and optionally unit) over its last N_LAST weeks.
#   INPUT_DIR holds input_salmNewport_total.csv (date,count) and
#   input_salmNewport_by_state.csv (unit,date,count); OUTPUT_DIR receives
#   input_salmNewport_3states.csv (the states used here) and r_salmNewport_total.csv,
#   r_salmNewport_3states.csv in long form: case,unit,date,observed,upperbound,alarm.
#   Every case evaluates the last 104 weeks, like the golden file in ../shared.
suppressPackageStartupMessages(library(surveillance))

args <- commandArgs(trailingOnly = TRUE)
one_file <- length(args) == 4 && args[1] == "--cases"
if (length(args) != 2 && !one_file) stop("usage: see the head of surveillance_reference.R")
stopifnot(packageVersion("surveillance") == "1.20.3")

STATES <- c("North.Rhine.Westphalia", "Berlin", "Saarland")
N_EVAL <- if (one_file) as.integer(args[4]) else 104

# Each case: a name and a function of (observed vector, range) returning list(ub, alarm).
ears_case <- function(control) {
  function(x, range) {
    s <- sts(observed = matrix(x, ncol = 1), frequency = 52, start = c(2004, 2))
    res <- earsC(s, control = c(list(range = range), control))
    list(ub = as.vector(upperbound(res)), alarm = as.vector(alarms(res)))
  }
}
cusum_case <- function(control) {
  function(x, range) {
    # algo.cusum reads only $observed (and $start, $freq for m = "glm"): a plain list will do,
    # avoiding the deprecated create.disProg().
    d <- list(observed = matrix(x, ncol = 1), start = c(2004, 2), freq = 52)
    res <- algo.cusum(d, control = c(list(range = range), control))
    list(ub = as.vector(res$upperbound), alarm = as.vector(res$alarm))
  }
}
CASES <- list(
  C1 = ears_case(list(method = "C1")),
  C2 = ears_case(list(method = "C2")),
  C3 = ears_case(list(method = "C3")),
  C1_baseline10_minSigma0.5_alpha0.05 =
    ears_case(list(method = "C1", baseline = 10, minSigma = 0.5, alpha = 0.05)),
  C2_baseline10_minSigma0.5_alpha0.05 =
    ears_case(list(method = "C2", baseline = 10, minSigma = 0.5, alpha = 0.05)),
  C3_baseline10_minSigma0.5_alpha0.05 =
    ears_case(list(method = "C3", baseline = 10, minSigma = 0.5, alpha = 0.05)),
  cusum = cusum_case(list()),
  cusum_rossi = cusum_case(list(trans = "rossi")),
  cusum_anscombe = cusum_case(list(trans = "anscombe")),
  cusum_anscombe2nd = cusum_case(list(trans = "anscombe2nd")),
  cusum_pearsonNegBin = cusum_case(list(trans = "pearsonNegBin")),
  cusum_none = cusum_case(list(trans = "none")),
  cusum_k0.5_h4_m3 = cusum_case(list(k = 0.5, h = 4, m = 3))
)

fmt_num <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
fmt_lgl <- function(v) ifelse(is.na(v), "NA", ifelse(as.logical(v), "TRUE", "FALSE"))

run_cases <- function(df, cases) {
  rows <- list()
  for (unit in unique(df$unit)) {
    sub <- df[df$unit == unit, ]
    n <- nrow(sub)
    range <- (n - N_EVAL + 1):n
    for (name in cases) {
      r <- CASES[[name]](sub$count, range)
      rows[[length(rows) + 1]] <- data.frame(
        case = name, unit = unit, date = sub$date[range], observed = sub$count[range],
        upperbound = fmt_num(r$ub), alarm = fmt_lgl(r$alarm))
    }
  }
  do.call(rbind, rows)
}

if (one_file) {
  d <- read.csv(args[2], colClasses = c(date = "character"))
  if (is.null(d$unit)) d$unit <- ""
  out <- run_cases(d[, c("unit", "date", "count")], c("C1", "C2", "C3", "cusum"))
  write.csv(out, args[3], row.names = FALSE, quote = FALSE)
  quit(save = "no")
}
in_dir <- args[1]
out_dir <- args[2]
total <- read.csv(file.path(in_dir, "input_salmNewport_total.csv"), colClasses = c("character", "numeric"))
total$unit <- ""
by_state <- read.csv(file.path(in_dir, "input_salmNewport_by_state.csv"),
                     colClasses = c("character", "character", "numeric"))
states <- by_state[by_state$unit %in% STATES, c("unit", "date", "count")]
write.csv(states, file.path(out_dir, "input_salmNewport_3states.csv"), row.names = FALSE, quote = FALSE)

out_total <- run_cases(total, names(CASES))
write.csv(out_total[, -2], file.path(out_dir, "r_salmNewport_total.csv"), row.names = FALSE, quote = FALSE)
out_states <- run_cases(states, c("C1", "C2", "C3", "cusum"))
write.csv(out_states, file.path(out_dir, "r_salmNewport_3states.csv"), row.names = FALSE, quote = FALSE)
