## The Noufaily et al. (2013, Stat Med 32:1206) simulation of ../shared/data/surveillance/noufaily_sim_R/
## noufaily_sim.R (42 scenarios, 624 weeks, baseline outbreaks in weeks 313-575, one current outbreak in
## weeks 576-624; its generator, scenario table and detector controls are copied unchanged), made
## reproducible (all series drawn in order from set.seed(SEED) before any detector runs) and writing what
## the Python port needs to run on the very same series: tools/surveillance_noufaily_sim.py reads it.
## Usage: Rscript tools/surveillance_noufaily_sim.R NREP ALPHA OUT_DIR [SCENARIOS, e.g. 1,8,15] [SEED]
## Writes OUT_DIR/noufaily_sim_series.csv (scenario,rep,k,counts,state: the 624 counts and the outbreak
## flags of weeks 576-624, space-separated) and OUT_DIR/noufaily_sim_R.csv (scenario,rep,method,week,
## upperbound,alarm for weeks 576-624; methods far, nou, c1, c3 as in noufaily_sim.R).
suppressMessages(library(surveillance)); library(parallel)
stopifnot(packageVersion("surveillance") == "1.20.3")
args <- commandArgs(TRUE); nrep <- as.integer(args[1]); alpha <- as.numeric(args[2]); out_dir <- args[3]
scenarios <- if (length(args) >= 4) as.integer(strsplit(args[4], ",")[[1]]) else 1:42
seed <- if (length(args) >= 5) as.integer(args[5]) else 2013L
theta <- c(0.1,-2,1.5,0.5,2.5,3.75,5); beta <- c(0.0025,0.005,0.003,0.002,0.001,0.001,0.0001)
g1 <- c(0.6,0.1,0.2,0.5,1,0.1,0.05); g2 <- c(0.6,0.3,-0.4,0.5,0.1,-0.1,0.01); phi <- c(1.5,2,1,5,3,1.1,1.2)
sc <- do.call(rbind, lapply(1:7, function(i) expand.grid(set=i, trend=0:1, m=0:2)))
sc$theta <- theta[sc$set]; sc$beta <- beta[sc$set]*sc$trend; sc$phi <- phi[sc$set]
sc$g1 <- ifelse(sc$m==0,0,g1[sc$set]); sc$g2 <- ifelse(sc$m==0,0,g2[sc$set])
n <- 624; tt <- 1:n; cur <- 576:624
mu_t <- function(s) { sea <- 0; if (s$m>0) for (j in 1:s$m) sea <- sea + s$g1*cos(2*pi*j*tt/52) + s$g2*sin(2*pi*j*tt/52); exp(s$theta + s$beta*tt + sea) }
rcount <- function(mu, phi) if (phi==1) rpois(length(mu), mu) else rnbinom(length(mu), mu=mu, size=mu/(phi-1))
addOutbreak <- function(y, st, start, k, mu, phi) {
  size <- rpois(1, k*sqrt(phi*mu[start]))           # k x SD of baseline count at start week
  if (size>0) { d <- floor(rlnorm(size, 0, 0.5)); tt2 <- pmin(start + d, n); tab <- table(tt2)
    idx <- as.integer(names(tab)); y[idx] <- y[idx] + as.integer(tab); st[idx] <- TRUE }
  list(y=y, st=st) }
con.far <- list(range=cur, b=5, w=3, reweight=TRUE, weightsThreshold=1, alpha=alpha, trend=TRUE, pThresholdTrend=0.05,
  limit54=c(5,4), powertrans="2/3", noPeriods=1, pastWeeksNotIncluded=3, thresholdMethod="delta", glmWarnings=FALSE)
con.nou <- list(range=cur, b=5, w=3, reweight=TRUE, weightsThreshold=2.58, alpha=alpha, trend=TRUE, pThresholdTrend=1,
  limit54=c(5,4), powertrans="2/3", noPeriods=10, pastWeeksNotIncluded=26, thresholdMethod="nbPlugin", glmWarnings=FALSE)
simulate <- function(i) {  # noufaily_sim.R's one(), without the detectors
  s <- sc[i,]; mu <- mu_t(s); y <- rcount(mu, s$phi); st <- logical(n)
  for (st0 in sample(313:575, 4)) { o <- addOutbreak(y, logical(n), st0, sample(c(2,3,5,10),1), mu, s$phi); y <- o$y }
  st0 <- sample(cur,1); k <- sample(1:10,1); o <- addOutbreak(y, st, st0, k, mu, s$phi)
  list(y=o$y, st=o$st, k=k) }
detectors <- function(x) {
  out <- list()
  for (nm in c("far","nou","c1","c3")) {
    r <- tryCatch(switch(nm,
      far = suppressWarnings(farringtonFlexible(x, con.far)),
      nou = suppressWarnings(farringtonFlexible(x, con.nou)),
      c1  = earsC(x, list(range=cur, method="C1", alpha=alpha)),
      c3  = earsC(x, list(range=cur, method="C3", alpha=alpha))), error=function(e) NULL)
    ub <- if (is.null(r)) rep(NA, length(cur)) else as.vector(upperbound(r))
    al <- if (is.null(r)) rep(NA, length(cur)) else as.vector(alarms(r))
    out[[nm]] <- data.frame(method=nm, week=cur, upperbound=ifelse(is.na(ub), "NA", sprintf("%.17g", ub)),
                            alarm=ifelse(is.na(al), "NA", ifelse(al, "TRUE", "FALSE")))
  }
  do.call(rbind, out) }
set.seed(seed)
jobs <- expand.grid(i=scenarios, r=1:nrep)
sims <- lapply(seq_len(nrow(jobs)), function(j) simulate(jobs$i[j]))
t0 <- Sys.time()
res <- mclapply(seq_along(sims), function(j) {
  x <- sts(observed=sims[[j]]$y, start=c(2000,1), frequency=52); x@state[] <- sims[[j]]$st
  cbind(scenario=jobs$i[j], rep=jobs$r[j], detectors(x)) }, mc.cores=max(1, detectCores() - 1))
cat("detectors:", format(Sys.time() - t0), "\n")
series <- data.frame(scenario=jobs$i, rep=jobs$r, k=vapply(sims, `[[`, 0, "k"),
  counts=vapply(sims, function(s) paste(s$y, collapse=" "), ""),
  state=vapply(sims, function(s) paste(as.integer(s$st[cur]), collapse=" "), ""))
write.csv(series, file.path(out_dir, "noufaily_sim_series.csv"), row.names=FALSE, quote=FALSE)
write.csv(do.call(rbind, res), file.path(out_dir, "noufaily_sim_R.csv"), row.names=FALSE, quote=FALSE)
