using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Sampling;

/// <summary>A position whose token changed in a step: <see cref="To"/> is the mask id when it was remasked.</summary>
/// <param name="Probability">p of the drawn token (after temperature/top-p); NaN for a remask.</param>
public readonly record struct TokenChange(int Position, int From, int To, double Probability);

/// <summary>
/// What happened in one step, for every canvas. <see cref="Times"/> is null for the final argmax pass.
/// <see cref="AnchorPredictions"/>: per canvas, φ's argmax at every position from the probabilities the step used
/// (only when the observer asks for them and the model is anchored; else null).
/// </summary>
/// <see cref="Phase"/>: null in the main reverse process; "repair N" in syntax-repair round N (its first record is
/// the remask of the broken region). <see cref="Notes"/>: per canvas, why the step did what it did (a repair round's
/// remask: the parser's error, <see cref="RepairRegion.Reason"/>), or null.
public sealed record StepRecord(StepTimes? Times, bool NetworkRan, IReadOnlyList<IReadOnlyList<TokenChange>> Changes,
    IReadOnlyList<int[]>? AnchorPredictions, string? Phase = null, IReadOnlyList<string?>? Notes = null);

/// <summary>Receives every step of a sampling run (traces, terminal display).</summary>
public interface ISamplingObserver
{
    bool WantsAnchorPredictions => false;
    void OnStart(IReadOnlyList<Canvas> canvases) { }
    void OnStep(StepRecord step);
}

/// <summary>
/// Counters of one <see cref="DiffusionSampler.Sample"/> run. <see cref="NetworkSeconds"/> is the time inside the
/// <see cref="IDenoiser.Predict"/> calls (forward pass and SUBS) plus freeing their intermediates; building the inputs
/// and keeping the outputs count as the sampler's own time (<see cref="OverheadShare"/>).
/// </summary>
/// <param name="RepairedCanvases">Canvases that syntax repair remasked at least once.</param>
/// <param name="Guard">Per canvas, the viable-prefix guard's counters (null when the guard is off).</param>
public sealed record SamplingStatistics(int Steps, long NetworkCalls, long NetworkRows, double NetworkSeconds, double TotalSeconds, int RepairedCanvases = 0,
    IReadOnlyList<GuardCounts>? Guard = null)
{
    /// <summary>The guard's counters summed over the canvases (zero when it is off).</summary>
    public GuardCounts GuardTotals => Guard?.Aggregate(default(GuardCounts), (a, b) => a + b) ?? default;

    /// <summary>Share of wall time spent outside the network forward passes (the sampler's own overhead).</summary>
    public double OverheadShare => TotalSeconds <= 0 ? 0 : Math.Max(0, 1 - NetworkSeconds / TotalSeconds);
}

/// <summary>
/// The reverse process of docs/algorithms.md §7 over a batch of canvases: T steps on the time grid, each an MDLM or ReMDM
/// step, then a final argmax pass. Each canvas draws from its own <see cref="System.Random"/> seeded with
/// <see cref="Canvas.Seed"/> (branch per position in float64, tokens in float64 only where a token is needed), so a
/// canvas gives the same tokens alone or in any batch. Canvases of different lengths are right-padded and the pad
/// keys are masked out of attention: every canvas keeps the absolute positions it has when sampled alone.
/// </summary>
public sealed class DiffusionSampler
{
    private readonly IDenoiser _denoiser;
    private readonly Func<double, double> _alpha;

    public DiffusionSampler(IDenoiser denoiser, SamplerOptions options)
    {
        var problems = options.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems));
        _denoiser = denoiser;
        Options = options;
        _alpha = Schedules.NoiseSchedules.Create(options.Schedule, options.ScheduleEpsilon).Alpha;
    }

    public SamplerOptions Options { get; }
    public SamplingStatistics? LastRun { get; private set; }

    /// <summary>
    /// Samples the canvases; with <see cref="SamplerOptions.RepairRounds"/> &gt; 0 and a <paramref name="repair"/>
    /// judge, canvases that come out broken are repaired afterwards; with <see cref="SamplerOptions.Guard"/> on and a
    /// <paramref name="guard"/> judge, every reveal that extends a canvas's decided prefix is checked (also in repair).
    /// </summary>
    public int[][] Sample(IReadOnlyList<Canvas> canvases, ISamplingObserver? observer = null, IRepairRegion? repair = null, IPrefixJudge? guard = null)
    {
        if (canvases.Count == 0) return [];
        var run = new Run(this, canvases, observer, repair, guard);
        return run.Execute();
    }

    /// <summary>
    /// The longest run of <paramref name="masked"/> (ascending) from its first whose confidences all exceed τ; the
    /// first alone when it does not (one token per call, as without the threshold).
    /// </summary>
    internal static List<int> LeftmostRun(IReadOnlyList<int> masked, IReadOnlyList<double> confidence, double threshold)
    {
        var run = new List<int> { masked[0] };
        if (!(confidence[0] > threshold)) return run;
        for (int k = 1; k < masked.Count && confidence[k] > threshold; k++) run.Add(masked[k]);
        return run;
    }

    /// <summary>The state of one sampling call.</summary>
    private sealed class Run
    {
        private readonly DiffusionSampler _sampler;
        private readonly IDenoiser _denoiser;
        private readonly SamplerOptions _options;
        private readonly ISamplingObserver? _observer;
        private readonly int _batch, _width, _vocab, _maskId;
        // Log-probabilities are kept for positions _from.._width−1 only: the first position not frozen in any canvas.
        // No step reads a frozen position's (they never change), and the network then skips their unembedding.
        private readonly int _from, _span;
        private readonly int[][] _ids;
        private readonly bool[][] _frozen;
        private readonly double[][] _confidence;
        private readonly System.Random[] _random;
        private readonly bool[] _dirty;
        private readonly int[][]? _anchorPredictions;
        // The latest log-probabilities per canvas: canvas b's are rows _rowOf[b] of _logProbs [rows, span, V] fp32
        // (outside any dispose scope); −1 for a canvas that has none (never read: it has no mask, see Refresh).
        private Tensor? _logProbs;
        private readonly long[] _rowOf;
        private long _calls, _rows;
        private double _networkSeconds;

        private readonly IRepairRegion? _repair;
        private readonly IPrefixJudge? _guard;    // null unless the viable-prefix guard is on
        private readonly GuardCounts[] _guardCounts;
        private readonly bool?[] _promptViable;   // per canvas: whether its leading prompt is a viable prefix (judged once)
        private string? _phase;   // null in the main process; "repair N" during repair round N (no remasking then)
        public int RepairedCanvases { get; private set; }

        public Run(DiffusionSampler sampler, IReadOnlyList<Canvas> canvases, ISamplingObserver? observer, IRepairRegion? repair, IPrefixJudge? guard)
        {
            _repair = repair;
            _guard = sampler.Options.Guard == DecodingGuard.Prefix ? guard : null;
            _guardCounts = new GuardCounts[canvases.Count];
            _promptViable = new bool?[canvases.Count];
            _sampler = sampler;
            _denoiser = sampler._denoiser;
            _options = sampler.Options;
            _observer = observer;
            _batch = canvases.Count;
            _width = canvases.Max(c => c.Length);
            _vocab = _denoiser.VocabSize;
            _maskId = _denoiser.MaskId;
            _ids = canvases.Select(c => (int[])c.Ids.Clone()).ToArray();
            _frozen = canvases.Select(c => (bool[])c.Frozen.Clone()).ToArray();
            _from = FirstOpenPosition(_frozen);
            _span = _width - _from;
            _confidence = canvases.Select(c => Enumerable.Repeat(double.NaN, c.Length).ToArray()).ToArray();
            _random = canvases.Select(c => new System.Random(c.Seed)).ToArray();
            _dirty = Enumerable.Repeat(true, _batch).ToArray();
            _rowOf = Enumerable.Repeat(-1L, _batch).ToArray();
            if (observer?.WantsAnchorPredictions == true) _anchorPredictions = canvases.Select(c => new int[c.Length]).ToArray();
            foreach (var canvas in canvases)
            {
                if (canvas.Frozen.Length != canvas.Ids.Length) throw new ArgumentException("canvas: Frozen and Ids differ in length");
                for (int i = 0; i < canvas.Length; i++)
                {
                    if (canvas.Frozen[i] && canvas.Ids[i] == _maskId) throw new ArgumentException($"canvas: frozen position {i} holds the mask token");
                    if (canvas.Ids[i] < 0 || canvas.Ids[i] >= _vocab) throw new ArgumentException($"canvas: id {canvas.Ids[i]} at {i} is outside the vocabulary");
                }
            }
        }

        public int[][] Execute()
        {
            var clock = Stopwatch.StartNew();
            _observer?.OnStart(_ids.Select((ids, b) => new Canvas((int[])ids.Clone(), _frozen[b], 0)).ToList());
            int steps;
            try
            {
                if (_options.ParallelThreshold is { } threshold)
                {
                    steps = ParallelSteps(threshold);
                }
                else
                {
                    var grid = TimeGrid.Create(_options.Steps, _sampler._alpha, _options.Remask, _options.FinalTime);
                    foreach (var step in grid)
                    {
                        using var scope = NewDisposeScope();
                        Step(step);
                    }
                    steps = grid.Length;
                }
                using (var scope = NewDisposeScope()) FinalPass();
                if (_repair is not null) steps += Repair(_repair);
            }
            finally
            {
                _logProbs?.Dispose();
                _logProbs = null;
            }
            _sampler.LastRun = new SamplingStatistics(steps, _calls, _rows, _networkSeconds, clock.Elapsed.TotalSeconds, RepairedCanvases,
                _guard is null ? null : _guardCounts);
            return _ids;
        }

        /// <summary>
        /// Syntax-repair rounds (<see cref="SamplerOptions.RepairRounds"/>): each round asks the judge for every
        /// canvas's broken region, remasks it (one step record) and runs <see cref="SamplerOptions.RepairSteps"/> MDLM
        /// steps and a final argmax pass; only the remasked canvases reach the network. Returns the steps run.
        /// </summary>
        private int Repair(IRepairRegion judge)
        {
            int steps = 0;
            var repaired = new bool[_batch];
            for (int round = 1; round <= _options.RepairRounds; round++)
            {
                var changes = NoChanges();
                var reasons = new string?[_batch];
                for (int b = 0; b < _batch; b++)
                {
                    if (judge.Region(_ids[b], _frozen[b], round) is not { Positions.Count: > 0 } region) continue;
                    foreach (int i in region.Positions.Where(i => !_frozen[b][i] && _ids[b][i] != _maskId).Order())
                    {
                        changes[b].Add(new TokenChange(i, _ids[b][i], _maskId, double.NaN));
                        _ids[b][i] = _maskId;
                        _confidence[b][i] = double.NaN;
                    }
                    if (changes[b].Count > 0) { _dirty[b] = true; repaired[b] = true; reasons[b] = region.Reason; }
                }
                if (changes.All(c => c.Count == 0)) break;
                _phase = $"repair {round}";
                Report(null, false, changes, reasons);
                foreach (var step in TimeGrid.Create(_options.RepairSteps, _sampler._alpha, RemaskOptions.None))
                {
                    using var scope = NewDisposeScope();
                    Step(step);
                }
                using (var scope = NewDisposeScope()) FinalPass();
                steps += _options.RepairSteps;
            }
            _phase = null;
            RepairedCanvases = repaired.Count(r => r);
            return steps;
        }

        private int MaskedCount()
        {
            int count = 0;
            for (int b = 0; b < _batch; b++) foreach (int id in _ids[b]) if (id == _maskId) count++;
            return count;
        }

        /// <summary>
        /// Confidence-parallel steps (<see cref="SamplerOptions.ParallelThreshold"/>) until nothing is masked; returns
        /// the number of steps. Each step's times report the share of the initially masked positions still masked
        /// (t before, s after; α = 1 − that share), so traces show progress as on the grid.
        /// </summary>
        private int ParallelSteps(double threshold)
        {
            int initial = MaskedCount(), remaining = initial, k = 0;
            while (remaining > 0)
            {
                using var scope = NewDisposeScope();
                bool ran = Refresh();
                var unmask = new List<int>[_batch];
                for (int b = 0; b < _batch; b++) unmask[b] = ChooseAboveThreshold(b, threshold);
                var changes = DrawTokens(unmask);
                int revealed = 0;
                for (int b = 0; b < _batch; b++)
                {
                    changes[b].Sort((x, y) => x.Position.CompareTo(y.Position));
                    if (changes[b].Count > 0) _dirty[b] = true;
                    revealed += changes[b].Count;
                }
                double t = remaining / (double)initial, s = (remaining - revealed) / (double)initial;
                Report(new StepTimes(k++, t, s, 1 - t, 1 - s, false), ran, changes);
                remaining -= revealed;
            }
            return k;
        }

        /// <summary>
        /// The masked positions of canvas b whose confidence (largest probability, before temperature) exceeds τ;
        /// when there is none, the one best by the order's score (confidence for the random order). With the
        /// left-to-right order, the run of masked positions from the leftmost while each exceeds τ, or the leftmost alone
        /// (Fast-dLLM's semi-autoregressive block rule with the block starting at the leftmost mask): the
        /// decided text grows as a prefix, and a confident end-of-text far right of it is not revealed before the text
        /// it would end (docs/decoding.md, "Parallel steps, left to right").
        /// </summary>
        private List<int> ChooseAboveThreshold(int b, double threshold)
        {
            var masked = MaskedPositions(b);
            if (masked.Count == 0) return masked;
            using var index = tensor(masked.Select(i => Flat(b, i)).ToArray());
            var confidence = Penalised(_logProbs!.view(-1, _vocab).index_select(0, index), b).max(-1).values.exp().to(ScalarType.Float64).data<double>().ToArray();
            if (_options.Order == UnmaskOrder.LeftToRight) return LeftmostRun(masked, confidence, threshold);
            var chosen = new List<int>();
            for (int k = 0; k < masked.Count; k++) if (confidence[k] > threshold) chosen.Add(masked[k]);
            if (chosen.Count > 0) return chosen;
            return _options.Order == UnmaskOrder.Random
                ? [masked[Enumerable.Range(0, masked.Count).MaxBy(k => confidence[k])]]
                : ChooseByScore(b, 1);
        }

        private List<int> MaskedPositions(int b)
        {
            var masked = new List<int>();
            var ids = _ids[b];
            var frozen = _frozen[b];
            for (int i = 0; i < ids.Length; i++) if (ids[i] == _maskId && !frozen[i]) masked.Add(i);
            return masked;
        }

        /// <summary>The first position that is not frozen in some canvas (0 when every position of every canvas is frozen).</summary>
        internal static int FirstOpenPosition(bool[][] frozen)
        {
            int first = int.MaxValue;
            foreach (var row in frozen)
            {
                int open = Array.IndexOf(row, false);
                if (open >= 0) first = Math.Min(first, open);
            }
            return first == int.MaxValue ? 0 : first;
        }

        private bool AnyMasked(int b)
        {
            foreach (int id in _ids[b]) if (id == _maskId) return true;
            return false;
        }

        /// <summary>
        /// Runs the network on the canvases whose probabilities are stale and that still hold a mask (a step reads
        /// probabilities only at masked positions: remasking draws without them); returns whether it ran. A skipped
        /// canvas stays stale until it has a mask again.
        /// </summary>
        private bool Refresh()
        {
            if (!_options.Caching) Array.Fill(_dirty, true);
            var rows = Enumerable.Range(0, _batch).Where(b => _dirty[b] && AnyMasked(b)).ToArray();
            if (rows.Length == 0) return false;
            var output = RunNetwork(rows);
            try
            {
                Keep(rows, output.LogProbabilities);
                if (_anchorPredictions != null && output.AnchorLogits is Tensor anchors)
                {
                    var argmax = anchors.argmax(-1).to(ScalarType.Int64).data<long>().ToArray();
                    for (int r = 0; r < rows.Length; r++)
                    {
                        var target = _anchorPredictions[rows[r]];
                        for (int i = 0; i < target.Length; i++) target[i] = (int)argmax[r * _width + i];
                    }
                }
            }
            finally
            {
                if (!ReferenceEquals(output.LogProbabilities, _logProbs)) output.LogProbabilities.Dispose();
                output.AnchorLogits?.Dispose();
            }
            _calls++;
            _rows += rows.Length;
            foreach (int b in rows) _dirty[b] = false;
            return true;
        }

        /// <summary>
        /// Runs the denoiser on the given canvases (right-padded to the batch width, pad keys masked out). The network
        /// time of the statistics is exactly this call's <see cref="IDenoiser.Predict"/> (forward pass and SUBS) and the
        /// freeing of its intermediates; building the input and keeping the output count as the sampler's own time.
        /// The returned tensors belong to the caller.
        /// </summary>
        private DenoiserOutput RunNetwork(int[] rows)
        {
            var ids = new long[rows.Length * _width];
            var valid = new bool[rows.Length * _width];
            bool padded = false;
            for (int r = 0; r < rows.Length; r++)
            {
                var canvas = _ids[rows[r]];
                for (int i = 0; i < _width; i++)
                {
                    bool inside = i < canvas.Length;
                    ids[r * _width + i] = inside ? canvas[i] : _maskId;
                    valid[r * _width + i] = inside;
                    padded |= !inside;
                }
            }
            using var idTensor = tensor(ids, [rows.Length, _width]);
            using var keyMask = padded ? tensor(valid, [rows.Length, _width]) : null;
            DenoiserOutput output;
            var watch = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            {
                output = _denoiser.Predict(idTensor, keyMask, _from);
                output.LogProbabilities.DetachFromDisposeScope();
                output.AnchorLogits?.DetachFromDisposeScope();
            }
            _networkSeconds += watch.Elapsed.TotalSeconds;
            if (output.LogProbabilities.dtype == ScalarType.Float32) return output;
            var logProbs = output.LogProbabilities.to(ScalarType.Float32).DetachFromDisposeScope();
            output.LogProbabilities.Dispose();
            return output with { LogProbabilities = logProbs };
        }

        /// <summary>
        /// Keeps fresh log-probabilities [rows, width, V] of the refreshed canvases <paramref name="rows"/>. The
        /// output itself becomes the store (no copy) unless a canvas that was not refreshed still needs its cached
        /// rows (it has a mask and is clean, so a step will read it); then the fresh rows are copied into the store
        /// when it has their slots, else fresh and kept rows are gathered into a new store.
        /// </summary>
        private void Keep(int[] rows, Tensor logProbs)
        {
            var refreshed = new bool[_batch];
            foreach (int b in rows) refreshed[b] = true;
            var kept = Enumerable.Range(0, _batch).Where(b => !refreshed[b] && _rowOf[b] >= 0 && AnyMasked(b)).ToArray();
            if (kept.Length == 0)
            {
                _logProbs?.Dispose();
                _logProbs = logProbs.contiguous();
                if (!ReferenceEquals(_logProbs, logProbs)) _logProbs.DetachFromDisposeScope();
                Array.Fill(_rowOf, -1L);
                for (int r = 0; r < rows.Length; r++) _rowOf[rows[r]] = r;
                return;
            }
            if (rows.All(b => _rowOf[b] >= 0))
            {
                using var slots = tensor(rows.Select(b => _rowOf[b]).ToArray());
                _logProbs!.index_copy_(0, slots, logProbs);
                return;
            }
            using var keptRows = tensor(kept.Select(b => _rowOf[b]).ToArray());
            using var keptLogProbs = _logProbs!.index_select(0, keptRows);
            var store = cat([logProbs, keptLogProbs], 0).DetachFromDisposeScope();
            _logProbs.Dispose();
            _logProbs = store;
            Array.Fill(_rowOf, -1L);
            for (int r = 0; r < rows.Length; r++) _rowOf[rows[r]] = r;
            for (int k = 0; k < kept.Length; k++) _rowOf[kept[k]] = rows.Length + k;
        }

        /// <summary>The row of canvas b's position i in <c>_logProbs.view(-1, V)</c>.</summary>
        private long Flat(int b, int i)
        {
            Debug.Assert(_rowOf[b] >= 0, "reading log-probabilities of a canvas that has none");
            Debug.Assert(i >= _from, "reading log-probabilities of a frozen position");
            return _rowOf[b] * _span + i - _from;
        }

        private void Step(StepTimes step)
        {
            bool anythingMasked = false;
            for (int b = 0; b < _batch && !anythingMasked; b++) anythingMasked = AnyMasked(b);
            var remaskOptions = _phase is null ? _options.Remask : RemaskOptions.None;
            bool remasks = remaskOptions.Strategy != RemaskStrategy.None && ReverseStep.Sigma(remaskOptions, step) > 0;
            if (!anythingMasked && !remasks)
            {
                Report(step, false, NoChanges());
                return;
            }
            bool ran = Refresh();
            double sigma = ReverseStep.Sigma(remaskOptions, step);
            var unmask = new List<int>[_batch];
            var remask = new List<int>[_batch];
            for (int b = 0; b < _batch; b++)
            {
                (unmask[b], remask[b]) = Branches(b, step, sigma);
                if (_options.Order != UnmaskOrder.Random && unmask[b].Count > 0) unmask[b] = ChooseByScore(b, unmask[b].Count);
            }
            var changes = DrawTokens(unmask);
            for (int b = 0; b < _batch; b++)
            {
                foreach (int i in remask[b])
                {
                    changes[b].Add(new TokenChange(i, _ids[b][i], _maskId, double.NaN));
                    _ids[b][i] = _maskId;
                    _confidence[b][i] = double.NaN;
                }
                changes[b].Sort((x, y) => x.Position.CompareTo(y.Position));
                if (changes[b].Count > 0) _dirty[b] = true;
            }
            Report(step, ran, changes);
        }

        /// <summary>Per position, one float64 uniform decides the branch: unmask (masked) or remask (decoded, not frozen).</summary>
        private (List<int> Unmask, List<int> Remask) Branches(int b, in StepTimes step, double sigma)
        {
            var ids = _ids[b];
            var frozen = _frozen[b];
            var random = _random[b];
            var unmask = new List<int>();
            var remask = new List<int>();
            double maskedSigma = _options.Remask.Strategy == RemaskStrategy.Conf ? 0 : sigma;
            double unmaskProbability = ReverseStep.UnmaskProbability(step.AlphaS, step.AlphaT, maskedSigma);
            double[]? perToken = null;
            List<int>? decoded = null;
            if (_options.Remask.Strategy == RemaskStrategy.Conf && sigma > 0)
            {
                decoded = Enumerable.Range(0, ids.Length).Where(i => !frozen[i] && ids[i] != _maskId).ToList();
                var sigmas = ReverseStep.ConfidenceSigmas(decoded.Select(i => double.IsNaN(_confidence[b][i]) ? 1.0 : _confidence[b][i]).ToList(), sigma);
                perToken = new double[ids.Length];
                for (int k = 0; k < decoded.Count; k++) perToken[decoded[k]] = sigmas[k];
            }
            for (int i = 0; i < ids.Length; i++)
            {
                if (frozen[i]) continue;
                if (ids[i] == _maskId)
                {
                    if (random.NextDouble() < unmaskProbability) unmask.Add(i);
                }
                else
                {
                    double remaskProbability = perToken?[i] ?? sigma;
                    if (remaskProbability > 0 && random.NextDouble() < remaskProbability) remask.Add(i);
                }
            }
            return (unmask, remask);
        }

        /// <summary>The <paramref name="count"/> masked positions of canvas b with the highest order score.</summary>
        private List<int> ChooseByScore(int b, int count)
        {
            var masked = MaskedPositions(b);
            if (_options.Order == UnmaskOrder.LeftToRight) return masked.Take(count).ToList(); // ascending already
            using var index = tensor(masked.Select(i => Flat(b, i)).ToArray());
            var probabilities = Probabilities(Penalised(_logProbs!.view(-1, _vocab).index_select(0, index), b).to(ScalarType.Float64));
            Tensor score = _options.Order switch
            {
                UnmaskOrder.Confidence => probabilities.max(-1).values,
                UnmaskOrder.Margin => Margin(probabilities),
                UnmaskOrder.Anchor => AnchorFirst(probabilities),
                UnmaskOrder.AnchorDepth => AnchorFirstByDepth(probabilities),
                _ => (probabilities * probabilities.clamp_min(1e-300).log()).sum(-1), // −entropy
            };
            // Rounded to 12 decimals: positions whose scores are equal in exact arithmetic (permuted distributions) differ
            // by a few ulps depending on the CPU's vector width (AVX2 and AVX-512 sum in different orders); rounded, they
            // tie and the position breaks the tie, so a seed draws the same tokens on every machine.
            var scores = score.data<double>().Select(v => Math.Round(v, 12)).ToArray();
            return Enumerable.Range(0, masked.Count).OrderByDescending(k => scores[k]).ThenBy(k => masked[k])
                .Take(count).Select(k => masked[k]).Order().ToList();

            static Tensor Margin(Tensor p)
            {
                var top = p.topk(2, -1).values;
                return top[.., 0] - top[.., 1];
            }

            // 2 + confidence where the argmax is an anchor token, confidence elsewhere: every anchor before every other.
            Tensor AnchorFirst(Tensor p)
            {
                var (values, indexes) = p.max(-1);
                var table = _options.AnchorTokens!;
                var bonus = indexes.data<long>().Select(id => id < table.Count && table[(int)id] ? 2.0 : 0.0).ToArray();
                return values + tensor(bonus, ScalarType.Float64);
            }

            // 1 + ρ^max(0, d̂ − d0)·(1 + confidence) where the argmax is an anchor token (> 1 ≥ any confidence), else confidence.
            Tensor AnchorFirstByDepth(Tensor p)
            {
                var (values, indexes) = p.max(-1);
                var table = _options.AnchorTokens!;
                var depths = _options.AnchorDepths!.EstimateDepths(_ids[b], _maskId);
                var confidence = values.data<double>().ToArray();
                var ids = indexes.data<long>().ToArray();
                var score = new double[masked.Count];
                for (int k = 0; k < score.Length; k++)
                    score[k] = ids[k] < table.Count && table[(int)ids[k]]
                        ? 1 + _options.AnchorDepths.Weight(depths[masked[k]]) * (1 + confidence[k])
                        : confidence[k];
                return tensor(score, ScalarType.Float64);
            }
        }

        private bool Penalises => _options.RepetitionPenalty > 1 || _options.FrequencyPenalty > 0;

        /// <summary>Rows [n, V] of log-probabilities, all of canvas b, with the repetition and frequency penalties applied.</summary>
        private Tensor Penalised(Tensor rows, int b) =>
            Penalises ? Penalised(rows, Enumerable.Repeat(b, (int)rows.shape[0]).ToArray()) : rows;

        /// <summary>
        /// Rows [n, V] of log-probabilities, row r of canvas canvasOfRow[r]: an id that canvas generated c times gets
        /// log p·θ − α·c.
        /// </summary>
        private Tensor Penalised(Tensor rows, int[] canvasOfRow)
        {
            if (!Penalises) return rows;
            var rowIndex = new List<long>();
            var tokenIndex = new List<long>();
            var counts = new List<double>();
            var generated = new Dictionary<int, (int Id, int Count)[]>();
            for (int r = 0; r < canvasOfRow.Length; r++)
            {
                int b = canvasOfRow[r];
                if (!generated.TryGetValue(b, out var tokens)) generated[b] = tokens = GeneratedTokens(b);
                foreach (var (token, count) in tokens) { rowIndex.Add(r); tokenIndex.Add(token); counts.Add(count); }
            }
            if (rowIndex.Count == 0) return rows;
            using var rowsAt = tensor(rowIndex.ToArray());
            using var tokensAt = tensor(tokenIndex.ToArray());
            var indices = new[] { rowsAt, tokensAt };
            using var scope = NewDisposeScope();
            var penalised = rows.index(indices) * _options.RepetitionPenalty;
            if (_options.FrequencyPenalty > 0)
                penalised = penalised - tensor(counts.ToArray(), rows.dtype) * _options.FrequencyPenalty;
            return rows.clone().index_put_(penalised, indices).MoveToOuterDisposeScope();
        }

        /// <summary>The distinct ids decided in canvas b's generated region (not frozen, not masked), each with how often.</summary>
        private (int Id, int Count)[] GeneratedTokens(int b)
        {
            var ids = _ids[b];
            var frozen = _frozen[b];
            var tokens = new SortedDictionary<int, int>();
            for (int i = 0; i < ids.Length; i++)
                if (!frozen[i] && ids[i] != _maskId) tokens[ids[i]] = tokens.GetValueOrDefault(ids[i]) + 1;
            return tokens.Select(pair => (pair.Key, pair.Value)).ToArray();
        }

        /// <summary>softmax(log p / τ) in the dtype of the input (τ = 0: the input's softmax, used only by argmax paths).</summary>
        private Tensor Probabilities(Tensor logProbs) =>
            (_options.Temperature > 0 ? logProbs / _options.Temperature : logProbs).softmax(-1);

        /// <summary>Draws the tokens of the positions to unmask, then lets the viable-prefix guard judge them.</summary>
        private List<TokenChange>[] DrawTokens(List<int>[] unmask)
        {
            var changes = DrawProposals(unmask);
            if (_guard is not null)
                for (int b = 0; b < _batch; b++) GuardReveals(b, changes[b], greedy: _options.Temperature == 0);
            return changes;
        }

        /// <summary>
        /// The viable-prefix guard (<see cref="SamplerOptions.Guard"/>) over the tokens canvas b just revealed (already
        /// applied): left to right, each reveal that extends the decided prefix (every earlier position decided) is
        /// judged on the prefix it completes, which runs up to the next reveal of this step or the first mask. A
        /// rejected token is redrawn from its canvas's stream over the distribution without the rejected tokens.
        /// Earlier positions never change, so an accepted prefix stays accepted while later ones are judged.
        /// </summary>
        private void GuardReveals(int b, List<TokenChange> changes, bool greedy)
        {
            if (changes.Count == 0) return;
            var ids = _ids[b];
            // A prompt that is already no program prefix (prose, a fragment) leaves nothing to guard.
            if (_promptViable[b] is null)
            {
                int promptEnd = Array.IndexOf(_frozen[b], false);
                _promptViable[b] = promptEnd <= 0 || _guard!.Viable(ids, _frozen[b], promptEnd);
            }
            if (_promptViable[b] == false) return;
            int firstMask = Array.IndexOf(ids, _maskId);
            if (firstMask < 0) firstMask = ids.Length;
            changes.Sort((x, y) => x.Position.CompareTo(y.Position));
            for (int k = 0; k < changes.Count && changes[k].Position < firstMask; k++)
            {
                int i = changes[k].Position;
                int end = k + 1 < changes.Count && changes[k + 1].Position < firstMask ? changes[k + 1].Position : firstMask;
                var counts = _guardCounts[b];
                counts = counts with { Checks = counts.Checks + 1 };
                if (!_guard!.Viable(ids, _frozen[b], end))
                {
                    var row = TokenProbabilities(b, i);
                    var proposals = new List<int> { ids[i] };
                    bool accepted = false;
                    for (int attempt = 0; attempt < _options.GuardTries && !accepted; attempt++)
                    {
                        foreach (int rejected in proposals) row[rejected] = 0;
                        if (row.All(p => p <= 0)) break;
                        int token = greedy ? Array.IndexOf(row, row.Max()) : Categorical.Draw(row, _options.TopP, _random[b]).Token;
                        proposals.Add(token);
                        ids[i] = token;
                        counts = counts with { Checks = counts.Checks + 1, Resamples = counts.Resamples + 1 };
                        accepted = _guard.Viable(ids, _frozen[b], end);
                    }
                    if (!accepted)
                    {
                        // Out of tries: keep the proposal the model liked best.
                        var full = TokenProbabilities(b, i);
                        ids[i] = proposals.MaxBy(t => full[t]);
                        counts = counts with { Failures = counts.Failures + 1 };
                    }
                    double probability = greedy ? changes[k].Probability : TokenProbabilities(b, i)[ids[i]];
                    changes[k] = changes[k] with { To = ids[i], Probability = probability };
                    _confidence[b][i] = probability;
                }
                _guardCounts[b] = counts;
            }
        }

        /// <summary>Position i of canvas b's token distribution (after temperature; τ = 0: the model's), float64.</summary>
        private double[] TokenProbabilities(int b, int i) =>
            Probabilities(Penalised(_logProbs!.view(-1, _vocab)[Flat(b, i)].unsqueeze(0), b)[0].to(ScalarType.Float64)).data<double>().ToArray();

        /// <summary>Draws the tokens of the positions to unmask, in float64, canvas by canvas with its own stream.</summary>
        private List<TokenChange>[] DrawProposals(List<int>[] unmask)
        {
            var changes = Enumerable.Range(0, _batch).Select(_ => new List<TokenChange>()).ToArray();
            int total = unmask.Sum(u => u.Count);
            if (total == 0) return changes;
            var flat = new long[total];
            var canvasOfRow = new int[total];
            int n = 0;
            for (int b = 0; b < _batch; b++) foreach (int i in unmask[b]) { canvasOfRow[n] = b; flat[n++] = Flat(b, i); }
            using var index = tensor(flat);
            var rows = Penalised(_logProbs!.view(-1, _vocab).index_select(0, index), canvasOfRow);
            if (_options.Temperature == 0)
            {
                var best = rows.argmax(-1).data<long>().ToArray();
                n = 0;
                for (int b = 0; b < _batch; b++)
                    foreach (int i in unmask[b]) Apply(b, i, (int)best[n++], 1.0, changes);
                return changes;
            }
            if (_options.TopP >= 1)
            {
                // Inverse CDF in torch: one uniform per token from its canvas's stream (the order Categorical.Draw
                // would use them), then the first id whose running sum exceeds u·Σp. The sums are torch's sequential
                // float64 cumsum, the same additions in the same order as Categorical.Draw: the same tokens, without
                // copying [n, V] probabilities out of torch.
                var uniforms = new double[total];
                n = 0;
                for (int b = 0; b < _batch; b++) for (int k = 0; k < unmask[b].Count; k++) uniforms[n++] = _random[b].NextDouble();
                var p = Probabilities(rows.to(ScalarType.Float64));
                var cdf = p.cumsum(-1);
                var mass = cdf.narrow(1, _vocab - 1, 1);
                var drawn = searchsorted(cdf, tensor(uniforms, [total, 1]) * mass, right: true).clamp_max(_vocab - 1);
                var chosen = (p.gather(1, drawn) / mass).data<double>().ToArray();
                var tokens = drawn.data<long>().ToArray();
                n = 0;
                for (int b = 0; b < _batch; b++)
                    foreach (int i in unmask[b]) { Apply(b, i, (int)tokens[n], chosen[n], changes); n++; }
                return changes;
            }
            // Nucleus sampling sorts each row: in C#, on the float64 probabilities.
            var probabilities = Probabilities(rows.to(ScalarType.Float64)).data<double>().ToArray();
            n = 0;
            for (int b = 0; b < _batch; b++)
            {
                foreach (int i in unmask[b])
                {
                    var row = new ReadOnlySpan<double>(probabilities, n++ * _vocab, _vocab);
                    var (token, p) = Categorical.Draw(row, _options.TopP, _random[b]);
                    Apply(b, i, token, p, changes);
                }
            }
            return changes;
        }

        private void Apply(int b, int i, int token, double probability, List<TokenChange>[] changes)
        {
            changes[b].Add(new TokenChange(i, _ids[b][i], token, probability));
            _ids[b][i] = token;
            _confidence[b][i] = probability;
        }

        /// <summary>After the last step: argmax fills every position still masked (docs/algorithms.md §7).</summary>
        private void FinalPass()
        {
            var masked = Enumerable.Range(0, _batch).Select(b => Enumerable.Range(0, _ids[b].Length).Where(i => _ids[b][i] == _maskId).ToList()).ToArray();
            if (masked.All(m => m.Count == 0))
            {
                Report(null, false, NoChanges());
                return;
            }
            bool ran = Refresh();
            var flat = masked.SelectMany((m, b) => m.Select(i => Flat(b, i))).ToArray();
            using var index = tensor(flat);
            var canvasOfRow = masked.SelectMany((m, b) => m.Select(_ => b)).ToArray();
            var best = Penalised(_logProbs!.view(-1, _vocab).index_select(0, index), canvasOfRow).argmax(-1).data<long>().ToArray();
            var changes = NoChanges();
            int n = 0;
            for (int b = 0; b < _batch; b++) foreach (int i in masked[b]) Apply(b, i, (int)best[n++], double.NaN, changes);
            if (_guard is not null)
                for (int b = 0; b < _batch; b++) GuardReveals(b, changes[b], greedy: true);
            Report(null, ran, changes);
        }

        private List<TokenChange>[] NoChanges() => Enumerable.Range(0, _batch).Select(_ => new List<TokenChange>()).ToArray();

        private void Report(StepTimes? step, bool ran, List<TokenChange>[] changes, string?[]? notes = null)
        {
            if (_observer is null) return;
            var anchors = _anchorPredictions?.Select(a => (int[])a.Clone()).ToList();
            _observer.OnStep(new StepRecord(step, ran, changes, anchors, _phase, notes));
        }
    }
}

/// <summary>Categorical draws in float64 by inverse CDF, with optional nucleus (top-p) truncation.</summary>
public static class Categorical
{
    /// <summary>Returns the drawn index and its probability after truncation and renormalisation.</summary>
    public static (int Token, double Probability) Draw(ReadOnlySpan<double> probabilities, double topP, System.Random random)
    {
        if (topP >= 1)
        {
            double total = 0;
            foreach (double p in probabilities) total += p;
            double u = random.NextDouble() * total, cumulative = 0;
            int last = -1;
            for (int v = 0; v < probabilities.Length; v++)
            {
                if (probabilities[v] <= 0) continue;
                last = v;
                cumulative += probabilities[v];
                if (u < cumulative) return (v, probabilities[v] / total);
            }
            return (last, probabilities[last] / total);
        }
        var order = new int[probabilities.Length];
        for (int v = 0; v < order.Length; v++) order[v] = v;
        var keys = probabilities.ToArray();
        for (int v = 0; v < keys.Length; v++) keys[v] = -keys[v];
        Array.Sort(keys, order); // descending probability; stable enough: ties broken by the sort, deterministic
        double sum = 0, kept = 0;
        foreach (double p in probabilities) sum += p;
        int count = 0;
        while (count < order.Length && kept < topP * sum) kept += probabilities[order[count++]];
        double draw = random.NextDouble() * kept, running = 0;
        for (int k = 0; k < count; k++)
        {
            running += probabilities[order[k]];
            if (draw < running) return (order[k], probabilities[order[k]] / kept);
        }
        return (order[count - 1], probabilities[order[count - 1]] / kept);
    }
}
