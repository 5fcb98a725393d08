# perlbench: tokenise, count, rewrite and summarise prose (text.txt).
use strict;
use warnings;

my (%freq, %pairs, %domains, @long);
my ($lines, $nums, $sum) = (0, 0, 0);
open(my $in, '<', $ARGV[0]) or die "text.pl: $ARGV[0]: $!\n";
while (my $line = <$in>) {
    $lines++;
    while ($line =~ /(\w+)@(\w+)\.example/g) {
        $domains{$2}++;
    }
    while ($line =~ /\b(\d+)\b/g) {
        $nums++;
        $sum = ($sum * 31 + $1) % 1000000007;
    }
    (my $t = lc $line) =~ s/[^a-z ]+/ /g;
    my @w = split ' ', $t;
    for my $i (0 .. $#w) {
        $freq{$w[$i]}++;
        $pairs{"$w[$i-1] $w[$i]"}++ if $i;
    }
    my $r = join ' ', map { scalar reverse $_ } grep { length > 6 } @w;
    push @long, $r if length $r > 60;
    @long = (sort @long)[0 .. 99] if @long > 400;
}
close $in;
printf "lines %d numbers %d sum %d words %d\n", $lines, $nums, $sum,
    scalar keys %freq;
my @top = (sort { $freq{$b} <=> $freq{$a} || $a cmp $b } keys %freq)[0 .. 19];
printf "%-12s %d\n", $_, $freq{$_} for @top;
my @tp = (sort { $pairs{$b} <=> $pairs{$a} || $a cmp $b } keys %pairs)[0 .. 9];
printf "%-24s %d\n", $_, $pairs{$_} for @tp;
printf "%s %d\n", $_, $domains{$_} for sort keys %domains;
print substr($_, 0, 40), "\n" for (sort @long)[0 .. 9];
