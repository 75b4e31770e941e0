## Reference outputs for songkhoe.surveillance.farrington from R `surveillance` 1.20.3.
## Usage: Rscript tools/farrington_reference.R INPUT.csv OUT.csv [N_LAST=104]
##        Rscript tools/farrington_reference.R --simulate INPUT.csv   (writes farrington_input_sim)
## INPUT has columns date,count (one series) or unit,date,count (several, each complete), and
## optionally population: then ff_population (default control, populationOffset = TRUE) is added.
## OUT: unit,date,observed and, per method, <method>_ub and <method>_alarm for the last N_LAST weeks.
## Methods: ff_default (farringtonFlexible, default control), ff_noufaily (Noufaily 2013 preset),
## ff_muan (the preset with thresholdMethod = "muan"), ff_noreweight (default with reweight = FALSE),
## farrington (algo.farrington via farrington(), default control).
suppressMessages(library(surveillance))
args <- commandArgs(TRUE)
if (args[1] == "--simulate") {  # 17 sparse and dense negative-binomial series, 330 weeks
  set.seed(42)
  dates <- seq(as.Date("2015-01-05"), by = "1 week", length.out = 330)
  mus <- c(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1, 1.5, 2, 3, 5, 8, 12, 20, 40)
  tt <- seq_along(dates)
  rows <- list()
  for (i in seq_along(mus)) {
    mu <- mus[i] * exp(0.6 * sin(2 * pi * tt / 52.18) + (i %% 3 == 0) * 0.002 * tt)
    y <- rnbinom(length(tt), mu = mu, size = 1 + i %% 4)
    if (i %% 4 == 1) { o <- sample(280:325, 1); y[o:(o + 2)] <- y[o:(o + 2)] + rpois(3, 3 + 4 * mus[i]) }
    rows[[i]] <- data.frame(unit = sprintf("S%02d", i), date = format(dates), count = y)
  }
  rows[[17]] <- data.frame(unit = "S17", date = format(dates),
                           count = c(rep(0L, 300), 0, 2, 3, 1, 4, rep(0L, 25)))
  con <- file(args[2], "w")
  writeLines("# synthetic negative-binomial series (17 units, many zeros): tools/farrington_reference.R --simulate", con)
  write.csv(do.call(rbind, rows), con, row.names = FALSE, quote = FALSE)
  close(con)
  quit(save = "no")
}
nlast <- if (length(args) >= 3) as.integer(args[3]) else 104L
d <- read.csv(args[1], colClasses = c(date = "character"), comment.char = "#")
if (is.null(d$unit)) d$unit <- "total"
units <- unique(d$unit)
dates <- as.Date(unique(d$date))
obs <- sapply(units, function(u) d$count[d$unit == u])
pop <- if (is.null(d$population)) NULL else sapply(units, function(u) d$population[d$unit == u])
x <- sts(observed = obs, epoch = dates, epochAsDate = TRUE, frequency = 52)
if (!is.null(pop)) population(x) <- pop
rng <- (nrow(obs) - nlast + 1):nrow(obs)
nou <- list(noPeriods = 10, b = 4, w = 3, weightsThreshold = 2.58, pastWeeksNotIncluded = 26,
            pThresholdTrend = 1, thresholdMethod = "nbPlugin", alpha = 0.1)
controls <- list(
  ff_default = list(range = rng),
  ff_noufaily = c(list(range = rng), nou),
  ff_muan = c(list(range = rng), modifyList(nou, list(thresholdMethod = "muan"))),
  ff_noreweight = list(range = rng, reweight = FALSE))
if (!is.null(pop)) controls$ff_population <- list(range = rng, populationOffset = TRUE)
out <- data.frame(unit = rep(units, each = length(rng)), date = rep(format(dates[rng]), length(units)),
                  observed = as.vector(obs[rng, ]))
for (m in names(controls)) {
  r <- suppressWarnings(farringtonFlexible(x, controls[[m]]))
  out[[paste0(m, "_ub")]] <- as.vector(upperbound(r)); out[[paste0(m, "_alarm")]] <- as.vector(alarms(r))
}
r <- suppressWarnings(farrington(x, list(range = rng)))
out$farrington_ub <- as.vector(upperbound(r)); out$farrington_alarm <- as.logical(alarms(r))
con <- file(args[2], "w")
writeLines(sprintf("# R %s, surveillance %s; input %s; tools/farrington_reference.R", getRversion(),
                   packageVersion("surveillance"), basename(args[1])), con)
num <- vapply(out, is.double, TRUE)
out[num] <- lapply(out[num], function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v)))
write.csv(out, con, row.names = FALSE, quote = FALSE)
close(con)
