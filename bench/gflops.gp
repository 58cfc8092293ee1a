# gflops.gp - bar chart of GFLOP/s per layer for every system, from the
# benchmark's results.csv. Run by `make bench`:
#   gnuplot -e "csv='bench/results/results.csv'; png='bench/results/gflops.png'" bench/gflops.gp
# A system that could not run a layer or disagreed with the reference has
# NaN there and no bar. The dashed line is the ymm FMA peak measured in
# the same run (dotted: the zmm peak, on an AVX-512 CPU). The y axis is
# logarithmic: the systems span two decades.
if (!exists("csv")) csv = 'bench/results/results.csv'
if (!exists("png")) png = 'bench/results/gflops.png'
# The systems, as named in the CSV columns <system>_gflops (bench/bench.c).
systems = "convgen dnnl_nchw dnnl_any xnnpack im2col_blas naive"

set datafile separator comma
set datafile columnheaders
# The peaks (fma_peak_gflops is NaN when not measured: then stats warns).
undefine STATS_*
stats csv using (column("fma_peak_gflops")) nooutput
peak = exists("STATS_max") ? STATS_max : 0
stats csv using (column("fma512_peak_gflops")) nooutput
peak512 = STATS_max   # 0 without AVX-512

set datafile missing "NaN"
set terminal pngcairo size 1600,760 font "sans,10" noenhanced
set output png
set title "Single-thread fp32 convolution, GFLOP/s per layer (higher is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 noborder
set boxwidth 0.9
set logscale y
set yrange [0.1:*]
set ylabel "GFLOP/s"
set grid ytics mytics
set xtics rotate by -40 scale 0 font ",9"
set key outside right top vertical

if (peak > 0) {
    set arrow from graph 0, first peak to graph 1, first peak nohead dt 2 lw 1.5 lc rgb "#cc0000"
    set label sprintf("ymm FMA peak %.0f GFLOP/s", peak) at graph 0.01, first peak * 1.12 tc rgb "#cc0000"
}
if (peak512 > 0) {
    set arrow from graph 0, first peak512 to graph 1, first peak512 nohead dt 3 lw 1.5 lc rgb "#7700aa"
    set label sprintf("zmm FMA peak %.0f GFLOP/s", peak512) at graph 0.01, first peak512 * 1.12 tc rgb "#7700aa"
}

plot for [s in systems] csv using (column(s."_gflops")):xtic(1) title s
